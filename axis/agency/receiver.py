"""A reference push endpoint for an agency DMS: take the document, answer with a signed 01."""

from __future__ import annotations

import collections
from dataclasses import dataclass, field

from aiohttp import web

from axis.agency.client import compose_status, sign_message
from envelope.codes import StatusCode
from envelope.errors import EnvelopeError
from envelope.model import DocumentMessage, Organization
from envelope.parser import parse_message
from signing.keys import IssuedIdentity

PATH = "/edxml"


@dataclass
class PushReceiver:
    """Keeps what the axis pushed, keyed by message id, and answers each document with 01.

    A second push of a message id it already has (the axis retrying after a
    crash between sending and recording) gets the same receipt back and is
    not stored again: that is what makes re-pushing harmless.
    """

    organization: Organization
    identity: IssuedIdentity
    received: dict[str, bytes] = field(default_factory=dict)
    receipts: dict[str, bytes] = field(default_factory=dict)
    posts: collections.Counter[str] = field(default_factory=collections.Counter)
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
        if message_id in self.receipts:
            return web.Response(body=self.receipts[message_id], content_type="application/xml")
        try:
            message = parse_message(body)
        except EnvelopeError as exc:
            return web.Response(status=400, text=str(exc))
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

    def app(self) -> web.Application:
        """An aiohttp application serving the endpoint at /edxml."""
        app = web.Application(client_max_size=1 << 30)
        app.router.add_post(PATH, self.handle)
        return app
