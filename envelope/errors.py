"""Errors raised while reading or writing edXML."""


class EnvelopeError(Exception):
    """Base class: the bytes are not an acceptable edXML message.

    ``field`` names the element at fault (e.g. ``MessageHeader/From/OrganId``)
    so that an API answer can tell the sender exactly what to fix.
    """

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class EnvelopeTooLarge(EnvelopeError):
    """The message is larger than the configured limit (checked before parsing)."""


class MalformedXml(EnvelopeError):
    """Not well-formed XML, or XML using forbidden features (DTD, entities)."""


class InvalidEnvelope(EnvelopeError):
    """Well-formed XML that breaks the edXML structure or a code list."""


class CanonicalizationError(EnvelopeError):
    """Well-formed XML that has no canonical form (e.g. a relative namespace URI)."""
