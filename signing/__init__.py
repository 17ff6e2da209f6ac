"""XML-DSig and X.509 for the axis: keys, signing and strict verification of edXML, signed receipts.

Modules: ``keys`` (keys, certificates, development CA), ``signer`` and
``verifier`` (edXML envelopes), ``records`` and ``receipt`` (what the axis
itself signs), ``trust``/``location``/``xmldsig`` (the rules they share),
``errors`` (the SignatureError hierarchy). Imports only from ``envelope``.
"""
