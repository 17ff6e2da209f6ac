"""A real axis server on loopback with registered agencies, for API and end-to-end tests."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

from axis.agency.client import AxisClient, compose_document, compose_status, sign_message
from axis.app import create_app
from axis.appkeys import CONTEXT
from axis.context import AxisContext
from axis.settings import Settings
from envelope.codes import StatusCode
from envelope.model import Attachment, DocumentMessage, Organization
from envelope.parser import parse_document
from signing.keys import DevelopmentCA, IssuedIdentity, certificate_pem
from storage.registry.agencies import register_agency

NAMES = {
    "000.00.00.G22": "Văn phòng Chính phủ",
    "000.00.00.H29": "UBND Thành phố Hồ Chí Minh",
    "000.00.00.H41": "UBND tỉnh Nghệ An",
    "000.00.00.G14": "Bộ Tài chính",
    "001.00.10.H47": "UBND huyện Duy Xuyên, tỉnh Quảng Nam",
}


@dataclass
class Agent:
    """A registered agency as its DMS sees itself: code, token, signing identity."""

    code: str
    name: str
    token: str
    identity: IssuedIdentity
    harness: Harness
    _counter: int = 0

    @property
    def organization(self) -> Organization:
        return Organization(organ_id=self.code, organ_name=self.name)

    def client(self) -> AxisClient:
        """An API client authenticated as this agency."""
        return AxisClient(self.harness.url, self.token)

    def document(self, to: Sequence[Agent | str], subject: str = "Về việc triển khai văn bản điện tử",
                 attachments: Sequence[Attachment] | None = None, **kw: Any) -> tuple[DocumentMessage, bytes]:
        """A new signed document from this agency (a fresh number each call)."""
        self._counter += 1
        doc = compose_document(
            sender=self.organization,
            recipients=[t.organization if isinstance(t, Agent) else t for t in to],
            subject=subject,
            number=str(kw.pop("number", self._counter)),
            notation=kw.pop("notation", "VPCP-TTĐT"),
            attachments=attachments if attachments is not None else
            [Attachment("cid:1", "cong-van.pdf", "application/pdf", b"%PDF-1.4 noi dung " * 20)],
            promulgation_date=kw.pop("promulgation_date", date(2026, 11, 20)),
            **kw,
        )
        return doc, sign_message(doc, self.identity.key, self.identity.certificate)

    def status(self, document: DocumentMessage | bytes, code: StatusCode | str, description: str = "") -> bytes:
        """A signed status from this agency about ``document``."""
        if isinstance(document, bytes):
            document = parse_document(document)
        st = compose_status(sender=self.organization, document=document, code=StatusCode(code),
                            description=description)
        return sign_message(st, self.identity.key, self.identity.certificate)


@dataclass
class Harness:
    """The running server, its context, and helpers to register agencies."""

    url: str
    app: web.Application
    ca: DevelopmentCA
    identities: dict[str, IssuedIdentity]
    agents: dict[str, Agent] = field(default_factory=dict)

    @property
    def ctx(self) -> AxisContext:
        return self.app[CONTEXT]

    def identity_for(self, code: str) -> IssuedIdentity:
        if code not in self.identities:
            self.identities[code] = self.ca.issue(NAMES.get(code, code), organ_id=code, kind="rsa")
        return self.identities[code]

    async def register(self, code: str, *, endpoint: str | None = None, with_cert: bool = True) -> Agent:
        """Register an agency with a certificate from the test CA."""
        ident = self.identity_for(code)
        async with self.ctx.sessions() as session, session.begin():
            reg = await register_agency(
                session, code, NAMES.get(code, code),
                certificate=certificate_pem(ident.certificate) if with_cert else None,
                endpoint_url=endpoint, actor="test", allow_http_endpoint=True,
            )
        agent = Agent(code, NAMES.get(code, code), reg.token, ident, self)
        self.agents[code] = agent
        return agent


#: "database" runs the suite with large payloads in PostgreSQL (the PostgreSQL run of `make test`);
#: unset or "filesystem" keeps them as blob files.
BLOB_BACKEND_ENV = "AXIS_TEST_BLOB_BACKEND"
#: What test servers may push to besides public addresses: their receivers listen on loopback.
LOOPBACK_NETWORKS = ("127.0.0.0/8", "::1/128")


def blob_backend() -> str:
    """The payload backend the test servers use (AXIS_TEST_BLOB_BACKEND, default filesystem)."""
    return os.environ.get(BLOB_BACKEND_ENV) or "filesystem"


def server_settings(home: Path, database_url: str, **overrides: Any) -> Settings:
    """Settings for a test server: fast retries, small limits where useful."""
    values: dict[str, Any] = dict(
        home=home, database_url=database_url, retry_base_seconds=0.05, retry_max_seconds=0.5,
        # An endpoint's circuit opens after a few failures like in production, but for retry-sized spans.
        push_circuit_open_seconds=0.5,
        push_timeout_seconds=5.0, claim_lease_seconds=30.0, push_allow_http=True, blob_backend=blob_backend(),
        # Test push receivers listen on loopback, which production refuses unless listed.
        push_allowed_networks=LOOPBACK_NETWORKS,
    )
    values.update(overrides)
    return Settings(**values)


async def start_server(settings: Settings, ca: DevelopmentCA, identities: dict[str, IssuedIdentity],
                       **app_kwargs: Any) -> tuple[Harness, TestServer]:
    """Start an axis app on a free loopback port."""
    app = create_app(settings, **app_kwargs)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    return Harness(str(server.make_url("")).rstrip("/"), app, ca, identities), server


async def register_in_database(sessions: Any, ca: DevelopmentCA, identities: dict[str, IssuedIdentity], code: str,
                               endpoint: str | None = None) -> Agent:
    """Register an agency straight in a database shared by `axis serve` processes; the Agent only builds and signs."""
    if code not in identities:
        identities[code] = await asyncio.to_thread(ca.issue, NAMES[code], organ_id=code, kind="rsa")
    ident = identities[code]
    async with sessions() as session, session.begin():
        reg = await register_agency(session, code, NAMES[code], certificate=certificate_pem(ident.certificate),
                                    endpoint_url=endpoint, actor="test", allow_http_endpoint=True)
    # No in-process Harness: clients talk to a node with AxisClient(node.url, agent.token).
    return Agent(code, NAMES[code], reg.token, ident, harness=None)  # type: ignore[arg-type]
