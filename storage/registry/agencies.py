"""The agency registry: registration, tokens, certificates."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from envelope.codes import is_agency_code
from signing.errors import KeyMaterialError
from signing.keys import certificate_pem, fingerprint, load_certificate
from storage.audit import append_event
from storage.models import Agency, DeliveryMode

TOKEN_PREFIX = "axis_"


class RegistryError(Exception):
    """A registration request that cannot be carried out."""


class InvalidAgencyCode(RegistryError):
    """The code does not have the NNN.NN.NN.Xnn shape."""


class AgencyExists(RegistryError):
    """An agency with this code is already registered."""


class InvalidCertificate(RegistryError):
    """The given certificate PEM cannot be read."""


class UnknownAgency(RegistryError):
    """No agency with this code is registered."""


class InvalidEndpoint(RegistryError):
    """A push endpoint URL the axis will not POST to."""


#: Longest endpoint URL (the column's size).
MAX_ENDPOINT_LENGTH = 1024


def check_endpoint_url(url: str, *, allow_http: bool) -> str:
    """``url`` if the axis may push to it: https:// (http:// only when allowed), a host, no credentials."""
    schemes = ("https", "http") if allow_http else ("https",)
    if len(url) > MAX_ENDPOINT_LENGTH:
        raise InvalidEndpoint(f"endpoint URL is longer than {MAX_ENDPOINT_LENGTH} characters")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError as exc:
        raise InvalidEndpoint(f"endpoint {url!r} is not a URL: {exc}") from None
    if parts.scheme.lower() not in schemes:
        hint = "" if allow_http else " (http:// only where the operator sets push_allow_http)"
        raise InvalidEndpoint(f"endpoint must be an https:// URL{hint}, not {url!r}")
    if not parts.hostname:
        raise InvalidEndpoint(f"endpoint {url!r} names no host")
    if parts.username is not None or parts.password is not None:
        raise InvalidEndpoint("endpoint must not carry a user name or password (they would be logged)")
    if any(c.isspace() or ord(c) < 0x20 for c in url):
        raise InvalidEndpoint("endpoint must not contain spaces or control characters")
    return url


def hash_token(token: str) -> str:
    """Tokens are 256-bit random, so a fast hash is enough to store them."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    """A fresh bearer token, shown once to the agency."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


@dataclass(frozen=True)
class Registration:
    """A newly registered agency and its one-time token."""

    agency: Agency
    token: str


def _certificate_fields(cert_pem: bytes | str | None) -> tuple[str | None, str | None]:
    if cert_pem is None:
        return None, None
    raw = cert_pem.encode() if isinstance(cert_pem, str) else cert_pem
    try:
        cert = load_certificate(raw)
    except (KeyMaterialError, ValueError) as exc:
        raise InvalidCertificate(f"cannot read certificate: {exc}") from None
    return certificate_pem(cert).decode(), fingerprint(cert)


async def register_agency(
    session: AsyncSession,
    code: str,
    name: str,
    *,
    certificate: bytes | str | None = None,
    endpoint_url: str | None = None,
    organization_in_charge: str = "",
    actor: str = "cli",
    allow_http_endpoint: bool = False,
) -> Registration:
    """Register an agency and issue its token (stored only as a hash)."""
    if endpoint_url:
        check_endpoint_url(endpoint_url, allow_http=allow_http_endpoint)
    if not is_agency_code(code):
        raise InvalidAgencyCode(f"{code!r} is not an agency code (NNN.NN.NN.Xnn, e.g. 000.00.00.G22)")
    if not name.strip():
        raise RegistryError("agency name must not be empty")
    if await agency_by_code(session, code) is not None:
        raise AgencyExists(f"agency {code} is already registered")
    pem, fp = _certificate_fields(certificate)
    token = new_token()
    agency = Agency(
        code=code,
        name=name.strip(),
        organization_in_charge=organization_in_charge,
        certificate_pem=pem,
        certificate_fingerprint=fp,
        token_hash=hash_token(token),
        endpoint_url=endpoint_url or None,
        delivery_mode=(DeliveryMode.PUSH if endpoint_url else DeliveryMode.PULL).value,
        active=True,
    )
    session.add(agency)
    try:
        await session.flush()
    except IntegrityError:
        raise AgencyExists(f"agency {code} is already registered") from None
    await append_event(
        session,
        actor=actor,
        action="agency.registered",
        subject=code,
        details={"name": agency.name, "fingerprint": fp, "endpoint": agency.endpoint_url},
    )
    return Registration(agency, token)


async def agency_by_code(session: AsyncSession, code: str) -> Agency | None:
    """The agency with this code, or None."""
    return (await session.execute(select(Agency).where(Agency.code == code))).scalar_one_or_none()


async def agency_by_token(session: AsyncSession, token: str) -> Agency | None:
    """The agency owning this bearer token, or None."""
    digest = hash_token(token)
    agency = (await session.execute(select(Agency).where(Agency.token_hash == digest))).scalar_one_or_none()
    # The lookup is by digest, so timing reveals nothing about the token itself;
    # the compare guards against a collation-insensitive index match.
    if agency is not None and hmac.compare_digest(agency.token_hash, digest):
        return agency
    return None


async def rotate_token(session: AsyncSession, code: str, *, actor: str = "cli") -> str:
    """Issue a new token for a registered agency; the old one stops working at commit."""
    agency = await agency_by_code(session, code)
    if agency is None:
        raise UnknownAgency(f"no agency {code} is registered")
    token = new_token()
    agency.token_hash = hash_token(token)
    await session.flush()
    # The details name no token or hash: the audit log is readable by operators.
    await append_event(session, actor=actor, action="agency.token_rotated", subject=code, details={})
    return token


async def list_agencies(session: AsyncSession) -> list[Agency]:
    """All agencies ordered by code."""
    return list((await session.execute(select(Agency).order_by(Agency.code))).scalars())


async def ensure_axis_agency(session: AsyncSession, code: str, name: str, certificate: bytes) -> Agency:
    """The registry row the axis signs its own notices as (inactive: it receives nothing)."""
    existing = await agency_by_code(session, code)
    pem, fp = _certificate_fields(certificate)
    if existing is not None:
        if existing.certificate_fingerprint != fp:
            existing.certificate_pem, existing.certificate_fingerprint = pem, fp
        return existing
    agency = Agency(
        code=code,
        name=name,
        certificate_pem=pem,
        certificate_fingerprint=fp,
        # Nobody holds a token for the axis itself: store an unguessable hash.
        token_hash=hash_token(new_token()),
        delivery_mode=DeliveryMode.PULL.value,
        active=False,
    )
    session.add(agency)
    await session.flush()
    await append_event(session, actor="axis", action="agency.registered", subject=code,
                       details={"name": name, "fingerprint": fp, "axis": True})
    return agency


async def set_agency_active(session: AsyncSession, code: str, active: bool, *, actor: str = "cli") -> Agency:
    """Enable or disable an agency: a disabled one can neither call the API nor be sent to."""
    agency = await agency_by_code(session, code)
    if agency is None:
        raise UnknownAgency(f"no agency {code} is registered")
    if agency.active != active:
        agency.active = active
        await session.flush()
        await append_event(session, actor=actor, action="agency.enabled" if active else "agency.disabled",
                           subject=code, details={})
    return agency


async def replace_certificate(session: AsyncSession, code: str, certificate: bytes | str, *,
                              actor: str = "cli") -> Agency:
    """Pin a new signing certificate for an agency (e.g. before the old one expires)."""
    agency = await agency_by_code(session, code)
    if agency is None:
        raise UnknownAgency(f"no agency {code} is registered")
    pem, fp = _certificate_fields(certificate)
    previous = agency.certificate_fingerprint
    agency.certificate_pem, agency.certificate_fingerprint = pem, fp
    await session.flush()
    await append_event(session, actor=actor, action="agency.certificate_replaced", subject=code,
                       details={"previous": previous, "fingerprint": fp})
    return agency


async def add_next_certificate(session: AsyncSession, code: str, certificate: bytes | str, *,
                               actor: str = "cli") -> Agency:
    """Register the certificate an agency moves to: it verifies beside the current one until that one is retired."""
    agency = await agency_by_code(session, code)
    if agency is None:
        raise UnknownAgency(f"no agency {code} is registered")
    pem, fp = _certificate_fields(certificate)
    if agency.certificate_pem is None:
        # Nothing to overlap with: the next certificate is simply the agency's certificate.
        return await replace_certificate(session, code, certificate, actor=actor)
    if fp == agency.certificate_fingerprint:
        raise RegistryError(f"this certificate is already {code}'s current certificate")
    previous = agency.next_certificate_fingerprint
    agency.next_certificate_pem, agency.next_certificate_fingerprint = pem, fp
    await session.flush()
    await append_event(session, actor=actor, action="agency.certificate_next_added", subject=code,
                       details={"fingerprint": fp, "current": agency.certificate_fingerprint,
                                "replaced_next": previous})
    return agency


async def retire_certificate(session: AsyncSession, code: str, *, which: str = "current",
                             actor: str = "cli", reason: str = "") -> Agency:
    """Retire an agency's current certificate (its next one takes over) or withdraw its next one."""
    agency = await agency_by_code(session, code)
    if agency is None:
        raise UnknownAgency(f"no agency {code} is registered")
    if agency.next_certificate_pem is None:
        raise RegistryError(f"{code} has no next certificate: register one first (axis agency next-certificate) "
                            "or replace the certificate")
    if which == "current":
        retired = agency.certificate_fingerprint
        agency.certificate_pem, agency.certificate_fingerprint = agency.next_certificate_pem, \
            agency.next_certificate_fingerprint
    elif which == "next":
        retired = agency.next_certificate_fingerprint
    else:
        raise RegistryError(f"which must be 'current' or 'next', not {which!r}")
    agency.next_certificate_pem = agency.next_certificate_fingerprint = None
    await session.flush()
    await append_event(session, actor=actor, action="agency.certificate_retired", subject=code,
                       details={"retired": retired, "which": which, "current": agency.certificate_fingerprint,
                                "reason": reason})
    return agency


async def retire_expired_certificates(session: AsyncSession, now: datetime, *, actor: str = "axis") -> list[str]:
    """Retire each current certificate that has expired while a next one is registered; return the codes."""
    rows = (await session.execute(select(Agency).where(Agency.next_certificate_pem.is_not(None)))).scalars()
    done: list[str] = []
    for agency in list(rows):
        try:
            current = load_certificate((agency.certificate_pem or "").encode())
        except (KeyMaterialError, ValueError):
            continue  # nothing readable to compare: the operator decides
        if current.not_valid_after_utc <= now:
            await retire_certificate(session, agency.code, which="current", actor=actor, reason="expired")
            done.append(agency.code)
    return done
