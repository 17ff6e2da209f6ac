"""A certificate's chain up to the CA that issued it, from a pool of candidate issuers."""

from __future__ import annotations

from collections.abc import Sequence

from cryptography.exceptions import InvalidSignature

from signing.keys import Certificate, same_certificate

#: Longer chains than this are not built (a loop in a misconfigured pool stops here too).
MAX_DEPTH = 8


def _issuer_in(certificate: Certificate, pool: Sequence[Certificate]) -> Certificate | None:
    for candidate in pool:
        if candidate.subject != certificate.issuer:
            continue
        try:
            certificate.verify_directly_issued_by(candidate)
        except (ValueError, TypeError, InvalidSignature):
            continue
        return candidate
    return None


def chain_of(leaf: Certificate, pool: Sequence[Certificate]) -> list[Certificate]:
    """``leaf``, then each issuer found in ``pool`` (signature checked), up to a self-signed root or a gap."""
    chain = [leaf]
    while len(chain) < MAX_DEPTH:
        current = chain[-1]
        if current.issuer == current.subject:
            break  # self-signed: the root
        issuer = _issuer_in(current, pool)
        if issuer is None or any(same_certificate(issuer, seen) for seen in chain):
            break
        chain.append(issuer)
    return chain
