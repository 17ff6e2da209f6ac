"""deploy/nginx/axis.conf for real: nginx on loopback, TLS, two `axis serve` processes on one PostgreSQL database.

The client address each node logs comes from the X-Forwarded-For header nginx sets, believed
because the nodes list nginx's address in ``trusted_proxies``; whatever the client itself puts
in that header is dropped at the edge.
"""

from __future__ import annotations

import asyncio
import json
import os
import ssl
import subprocess
import time
from pathlib import Path

import aiohttp
import pytest

from axis.bench.server import AXIS_COMMAND, ServerProcess, free_port
from migrations.upgrade import upgrade
from signing.keys import DevelopmentCA, IssuedIdentity
from storage.db import create_engine, session_factory
from tests.databases import ENV, fresh_database, postgres_server
from tests.harness import register_in_database
from tests.support.tools import tool

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
A, B = "000.00.00.G22", "000.00.00.H29"
#: The client connects from this loopback address, nginx reaches the nodes from 127.0.0.1.
CLIENT_ADDRESS = "127.0.0.2"


def _nginx_conf(root: Path, port: int, nodes: list[int]) -> Path:
    site = (DEPLOY / "nginx" / "axis.conf").read_text()
    site = site.replace("    server 10.0.0.11:8080", f"    server 127.0.0.1:{nodes[0]}")
    site = site.replace("    server 10.0.0.12:8080", f"    server 127.0.0.1:{nodes[1]}")
    site = site.replace("listen 443 ssl http2;", f"listen 127.0.0.1:{port} ssl http2;")
    site = site.replace("    listen [::]:443 ssl http2;\n", "")
    site = site.replace("/etc/axis/tls/", f"{root}/")
    site = site.replace("/var/log/nginx/", f"{root}/")
    assert str(root) in site and f"127.0.0.1:{nodes[1]}" in site  # the shipped file still has these lines
    conf = root / "nginx.conf"
    conf.write_text(f"""daemon off;
master_process off;
pid {root}/nginx.pid;
error_log {root}/error.log info;
events {{ worker_connections 64; }}
http {{
    client_body_temp_path {root}/body;
    proxy_temp_path {root}/proxy;
    fastcgi_temp_path {root}/fastcgi;
    uwsgi_temp_path {root}/uwsgi;
    scgi_temp_path {root}/scgi;
{site}
}}
""")
    return conf


def _certificate(root: Path) -> None:
    subprocess.run([tool("openssl"), "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-nodes", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-days", "2",
                    "-keyout", str(root / "axis.key"), "-out", str(root / "axis.crt")],
                   check=True, capture_output=True, timeout=60)


pytestmark = pytest.mark.timeout(180)


def _logged_requests(node: ServerProcess) -> list[dict[str, object]]:
    """The JSON access lines a node wrote (log_format = "json")."""
    out = []
    for line in node.log_path.read_text(errors="replace").splitlines():
        if line.startswith("{"):
            entry = json.loads(line)
            if "path" in entry:
                out.append(entry)
    return out


async def test_signed_document_through_tls_reaches_both_nodes_with_the_client_address(
        tmp_path: Path, test_ca: DevelopmentCA, identities: dict[str, IssuedIdentity],
        monkeypatch: pytest.MonkeyPatch) -> None:
    nginx = tool("nginx")
    monkeypatch.setenv(ENV, await postgres_server())
    root = tmp_path / "nginx"
    root.mkdir()
    _certificate(root)
    home = tmp_path / "home"  # both nodes sign with one axis key, as nodes installed from one backup do
    async with fresh_database(tmp_path) as url:
        await asyncio.to_thread(upgrade, url)
        init = await asyncio.to_thread(subprocess.run, [*AXIS_COMMAND, "keys", "init"],
                                       env={**os.environ, "AXIS_HOME": str(home), "AXIS_DATABASE_URL": url},
                                       capture_output=True, text=True, timeout=60)
        assert init.returncode == 0, init.stderr
        engine = create_engine(url)
        sessions = session_factory(engine)
        node_env = {"AXIS_TRUSTED_PROXIES": "127.0.0.1", "AXIS_LOG_FORMAT": "json", "PYTHONUNBUFFERED": "1"}
        nodes = [ServerProcess(home, url, tmp_path / f"node{i}.log", extra_env=node_env, name=f"node{i}")
                 for i in (1, 2)]
        proc: subprocess.Popen[bytes] | None = None
        try:
            sender = await register_in_database(sessions, test_ca, identities, A)
            recipient = await register_in_database(sessions, test_ca, identities, B)
            for node in nodes:
                node.start()
            for node in nodes:
                await asyncio.to_thread(node.wait_ready, 60.0)
            port = free_port()
            conf = _nginx_conf(root, port, [n.port for n in nodes])
            checked = subprocess.run([nginx, "-t", "-c", str(conf), "-p", str(root)], capture_output=True,
                                     text=True, timeout=30)
            assert checked.returncode == 0, checked.stderr
            proc = subprocess.Popen([nginx, "-c", str(conf), "-p", str(root)], stderr=subprocess.PIPE)
            context = ssl.create_default_context(cafile=str(root / "axis.crt"))
            connector = aiohttp.TCPConnector(ssl=context, local_addr=(CLIENT_ADDRESS, 0))
            base = f"https://127.0.0.1:{port}"
            async with aiohttp.ClientSession(connector=connector) as http:
                deadline = time.monotonic() + 20
                while True:
                    try:
                        async with http.get(base + "/healthz") as r:
                            if r.status == 200:
                                break
                    except aiohttp.ClientError:
                        pass
                    assert time.monotonic() < deadline, "nginx did not answer on its TLS port"
                    await asyncio.sleep(0.1)
                ids = []
                for _ in range(4):
                    _, signed = sender.document([B])
                    async with http.post(base + "/api/v1/documents", data=signed, headers={
                        "Authorization": f"Bearer {sender.token}", "Content-Type": "application/xml",
                        # A client's own claim is not believed: the edge proxy overwrites it.
                        "X-Forwarded-For": "198.51.100.66"}) as r:
                        assert r.status == 202, await r.text()
                        ids.append((await r.json())["id"])
                async with http.post(base + "/api/v1/documents", data=b"<not-signed/>") as r:
                    assert r.status == 401 and r.content_type == "application/problem+json"
                # The recipient finds them through the same front, whichever node answers.
                async with http.get(base + "/api/v1/inbox?kind=edoc",
                                    headers={"Authorization": f"Bearer {recipient.token}"}) as r:
                    assert r.status == 200
                    assert {item["id"] for item in (await r.json())["items"]} == set(ids)
        finally:
            if proc is not None:
                proc.terminate()
                proc.wait(timeout=15)
            for node in nodes:
                node.stop()
            await engine.dispose()
    assert len(set(ids)) == 4
    posted = [entry for node in nodes for entry in _logged_requests(node)
              if entry["path"] == "/api/v1/documents"]
    accepted = [p for p in posted if p["status"] == 202]
    assert len(accepted) == 4, posted
    assert {p["client"] for p in posted} == {CLIENT_ADDRESS}  # the refused one too
    assert all(p["agency"] == A for p in accepted)
    served = [n for n in nodes if any(e["path"] == "/api/v1/documents" for e in _logged_requests(n))]
    assert served == nodes  # both processes took submissions
    upstreams = {line.split("upstream=")[1].split()[0] for line in (root / "axis.access.log").read_text().splitlines()
                 if "/api/v1/documents" in line}
    assert upstreams == {f"127.0.0.1:{n.port}" for n in nodes}
