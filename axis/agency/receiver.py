"""A reference push endpoint for an agency DMS: check the push, then answer the document with a signed 01."""

from __future__ import annotations

import asyncio
import collections
import logging
from dataclasses import dataclass, field

from aiohttp import web
from cryptography.x509 import Certificate

from axis.agency.client import compose_status, sign_message
from envelope.codes import StatusCode
from envelope.errors import EnvelopeError
from envelope.model import DocumentMessage, Organization
from envelope.parser import parse_message
from signing.errors import SignatureError
from signing.keys import IssuedIdentity
from signing.push_request import HEADER as PUSH_SIGNATURE_HEADER
from signing.push_request import verify_push_request
from signing.verifier import verify_envelope

PATH = "/edxml"
log = logging.getLogger("axis.agency.receiver")


@dataclass
class PushReceiver:
    """Keeps what the axis pushed, keyed by message id, and answers each document with 01.

    Before answering it checks two things, and refuses (nothing stored, no 01) otherwise:
    the request carries the axis's ``X-Axis-Signature`` over this body, message id and this
    agency's code (401), and the message is signed by the certificate it was given for the
    message's ``From`` agency (422; a status may also be the axis's own notice), and a document
    is addressed to this agency (422).

    A second push of a message id it already has (the axis retrying after a
    crash between sending and recording) gets the same receipt back and is
    not stored again: that is what makes re-pushing harmless.
    """

    organization: Organization
    identity: IssuedIdentity
    #: The axis certificate (``GET /api/v1/certificate``); without it every push is refused.
    axis_certificate: Certificate | None = None
    #: The signing certificate of each agency whose messages this endpoint takes, by agency code.
    senders: dict[str, Certificate] = field(default_factory=dict)
    received: dict[str, bytes] = field(default_factory=dict)
    receipts: dict[str, bytes] = field(default_factory=dict)
    posts: collections.Counter[str] = field(default_factory=collections.Counter)
    #: Why pushes were refused, by reason (``caller``, ``signature``, ``not_addressed``, ``malformed``).
    refused: collections.Counter[str] = field(default_factory=collections.Counter)
    #: Answer this many requests with 503 before accepting (to simulate an outage).
    fail_next: int = 0

    async def handle(self, request: web.Request) -> web.Response:
        """POST /edxml from the axis."""
        message_id = request.headers.get("X-Axis-Message-Id", "")
        self.posts[message_id] += 1
        if self.fail_next > 0:
            self.fail_next -= 1
            return web.Response(status=503, text="down for maintenance")
        body = await request.read()
        try:
            if self.axis_certificate is None:
                raise SignatureError("this endpoint has no axis certificate configured")
            verify_push_request(self.axis_certificate, request.headers.get(PUSH_SIGNATURE_HEADER),
                                self.organization.organ_id, message_id, body)
        except SignatureError as exc:
            return self._refuse("caller", 401, f"not a push from the axis: {exc}")
        if message_id in self.receipts:
            return web.Response(body=self.receipts[message_id], content_type="application/xml")
        try:
            message = parse_message(body)
        except EnvelopeError as exc:
            return self._refuse("malformed", 400, str(exc))
        sender = message.from_.organ_id
        trusted = [c for c in (self.senders.get(sender),) if c is not None]
        if not isinstance(message, DocumentMessage):
            trusted.append(self.axis_certificate)  # the axis signs its own notices (e.g. delivery failed)
        elif all(to.organ_id != self.organization.organ_id for to in message.to):
            return self._refuse("not_addressed", 422, f"the document is not addressed to {self.organization.organ_id}")
        try:
            # Verifying is CPU work on a large body: off the event loop.
            await asyncio.to_thread(verify_envelope, body, pinned=trusted)
        except SignatureError as exc:
            return self._refuse("signature", 422, f"not signed by {sender}'s certificate: {exc}")
        self.received[message_id] = body
        if not isinstance(message, DocumentMessage):
            return web.Response(status=204)
        receipt = sign_message(
            compose_status(sender=self.organization, document=message, code=StatusCode.ARRIVED,
                           description="Đã nhận văn bản"),
            self.identity.key, self.identity.certificate,
        )
        self.receipts[message_id] = receipt
        return web.Response(body=receipt, content_type="application/xml")

    def _refuse(self, reason: str, status: int, text: str) -> web.Response:
        self.refused[reason] += 1
        log.warning("push refused (%s): %s", reason, text)
        return web.Response(status=status, text=text)

    def app(self) -> web.Application:
        """An aiohttp application serving the endpoint at /edxml."""
        app = web.Application(client_max_size=1 << 30)
        app.router.add_post(PATH, self.handle)
        return app
