"""A small async client an agency DMS can import: compose, sign, submit, pull, answer."""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import aiohttp

from envelope.builder import build_document, build_status
from envelope.codes import (
    VN_TZ,
    BusinessType,
    Priority,
    StatusCode,
    document_type_by_abbreviation,
)
from envelope.model import (
    Attachment,
    Bussiness,
    DocumentCode,
    DocumentMessage,
    DocumentType,
    Organization,
    OtherInfo,
    PromulgationInfo,
    ResponseFor,
    SignerInfo,
    StaffInfo,
    StatusMessage,
)
from signing.keys import Certificate, PrivateKey
from signing.signer import sign_envelope


def compose_document(
    *,
    sender: Organization,
    recipients: Sequence[Organization | str],
    subject: str,
    number: str,
    notation: str,
    type_abbreviation: str = "",
    attachments: Sequence[Attachment] = (),
    content: str = "",
    priority: Priority = Priority.NORMAL,
    place: str = "Hà Nội",
    promulgation_date: date | None = None,
    signer: SignerInfo | None = None,
    business_type: BusinessType = BusinessType.NEW,
    reason: str = "",
    response_for: Sequence[ResponseFor] = (),
    sent_at: datetime | None = None,
) -> DocumentMessage:
    """A document message from the few fields a clerk actually types."""
    try:
        document_type_by_abbreviation(type_abbreviation)
    except KeyError:
        raise ValueError(f"unknown document type abbreviation {type_abbreviation!r}") from None
    to = tuple(r if isinstance(r, Organization) else Organization(organ_id=r, organ_name=r) for r in recipients)
    return DocumentMessage.new(
        from_=sender,
        to=to,
        code=DocumentCode(number, notation),
        # The document's date is the Vietnamese calendar date, whatever the host's zone.
        promulgation=PromulgationInfo(place, promulgation_date or datetime.now(VN_TZ).date()),
        document_type=DocumentType.from_abbreviation(type_abbreviation),
        subject=subject,
        content=content,
        attachments=attachments,
        response_for=response_for,
        signer=signer,
        other_info=OtherInfo(priority=priority),
        bussiness=Bussiness(bussiness_doc_type=business_type, bussiness_doc_reason=reason),
        sent_at=sent_at,
    )


def compose_status(
    *,
    sender: Organization,
    document: DocumentMessage | ResponseFor,
    code: StatusCode,
    description: str = "",
    staff: StaffInfo | None = None,
    at: datetime | None = None,
) -> StatusMessage:
    """A status message answering ``document``."""
    response_for = document if isinstance(document, ResponseFor) else ResponseFor.to_document(document)
    return StatusMessage.new(
        from_=sender, response_for=response_for, status_code=code, description=description,
        staff_info=staff, timestamp=at,
    )


def sign_message(message: DocumentMessage | StatusMessage, key: PrivateKey, certificate: Certificate) -> bytes:
    """Build the edXML bytes of a message and sign them."""
    raw = build_status(message) if isinstance(message, StatusMessage) else build_document(message)
    return sign_envelope(raw, key, certificate)


class AxisApiError(Exception):
    """The axis answered with a problem document."""

    def __init__(self, status: int, problem: dict[str, Any]) -> None:
        super().__init__(f"{status} {problem.get('code', '')}: {problem.get('detail', '')}")
        self.status = status
        self.problem = problem
        self.code: str = problem.get("code", "")


@dataclass
class AxisClient:
    """An agency's connection to the axis API (use as ``async with``)."""

    base_url: str
    token: str
    session: aiohttp.ClientSession | None = None
    timeout: float = 120.0

    async def __aenter__(self) -> AxisClient:
        if self.session is None:
            self.session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout))
            self._own = True
        return self

    async def __aexit__(self, *exc: object) -> None:
        if getattr(self, "_own", False) and self.session is not None:
            await self.session.close()
            self.session = None

    def _headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", **(extra or {})}

    async def _request(self, method: str, path: str, **kwargs: Any) -> tuple[int, bytes, Any]:
        assert self.session is not None, "use AxisClient as 'async with'"
        headers = self._headers(kwargs.pop("headers", None))
        async with self.session.request(method, self.base_url.rstrip("/") + path, headers=headers, **kwargs) as r:
            body = await r.read()
            if r.status >= 400:
                try:
                    problem = json.loads(body)
                except ValueError:
                    problem = {"detail": body[:200].decode(errors="replace")}
                raise AxisApiError(r.status, problem)
            return r.status, body, r.headers

    async def _json(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        _, body, _ = await self._request(method, path, **kwargs)
        reply: dict[str, Any] = json.loads(body)  # every endpoint answers with an object
        return reply

    async def submit(self, signed: bytes) -> dict[str, Any]:
        """POST a signed document; returns the reply (with the signed submission receipt)."""
        return await self._json("POST", "/api/v1/documents", data=signed,
                                headers={"Content-Type": "application/xml"})

    async def post_status(self, signed: bytes) -> dict[str, Any]:
        """POST a signed status message."""
        return await self._json("POST", "/api/v1/statuses", data=signed,
                                headers={"Content-Type": "application/xml"})

    async def post_statuses(self, signed: Sequence[bytes]) -> list[dict[str, Any]]:
        """POST several signed statuses at once: in order, each one's ``status`` with ``reply`` or ``problem``."""
        payload = {"statuses": [base64.b64encode(s).decode() for s in signed]}
        results: list[dict[str, Any]] = (await self._json("POST", "/api/v1/statuses/batch", json=payload))["results"]
        return results

    async def inbox(self, *, kind: str | None = None, limit: int = 100, cursor: str | None = None,
                    bodies: bool = False, wait: float = 0) -> dict[str, Any]:
        """One page of the inbox; ``bodies``: small messages carry their bytes (``body``, base64);
        ``wait``: an empty inbox answers at the first arrival, or after that many seconds."""
        params = {"limit": str(limit)}
        if kind:
            params["kind"] = kind
        if cursor:
            params["cursor"] = cursor
        if bodies:
            params["include"] = "bodies"
        if wait:
            params["wait"] = f"{wait:g}"
        return await self._json("GET", "/api/v1/inbox", params=params)

    async def pull(self, *, kind: str | None = None, limit: int = 100, cursor: str | None = None,
                   wait: float = 0) -> tuple[list[tuple[dict[str, Any], bytes]], str | None]:
        """One page of the inbox with every item's signed bytes, and the next cursor.

        Small messages come in the page itself; a large one (no ``body`` in its item) is fetched on its own.
        """
        page = await self.inbox(kind=kind, limit=limit, cursor=cursor, bodies=True, wait=wait)
        out = []
        for item in page["items"]:
            body = item.pop("body", None)
            out.append((item, base64.b64decode(body) if body is not None else await self.fetch(item["id"])))
        return out, page["next_cursor"]

    async def fetch(self, message_id: str) -> bytes:
        """The signed bytes of a message, exactly as submitted."""
        _, body, _ = await self._request("GET", f"/api/v1/messages/{message_id}")
        return body

    async def ack(self, message_id: str) -> dict[str, Any]:
        """Take a status item off the inbox."""
        return await self._json("POST", f"/api/v1/inbox/{message_id}/ack")

    async def ack_many(self, message_ids: Sequence[str]) -> list[dict[str, Any]]:
        """Take several status items off the inbox in one request: per id, its state or its ``problem``."""
        results: list[dict[str, Any]] = (await self._json("POST", "/api/v1/inbox/ack",
                                                          json={"ids": list(message_ids)}))["results"]
        return results

    async def trace(self, message_id: str) -> dict[str, Any]:
        """Per-recipient states and the status timeline of a document."""
        return await self._json("GET", f"/api/v1/documents/{message_id}/trace")

    async def agencies(self) -> list[dict[str, Any]]:
        """The agency registry."""
        items: list[dict[str, Any]] = (await self._json("GET", "/api/v1/agencies"))["items"]
        return items

    async def certificate(self) -> bytes:
        """The axis certificate PEM (to verify submission receipts)."""
        _, body, _ = await self._request("GET", "/api/v1/certificate")
        return body
