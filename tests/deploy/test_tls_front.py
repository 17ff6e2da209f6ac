"""deploy/nginx/axis.conf for real: nginx on loopback, TLS, two axis nodes, the client address the axis logs."""

from __future__ import annotations

import asyncio
import json
import logging
import ssl
import subprocess
import time
from pathlib import Path

import aiohttp
import pytest

from axis.bench.server import free_port
from signing.keys import DevelopmentCA, IssuedIdentity
from tests.databases import DatabaseTemplate
from tests.harness import server_settings, start_server
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


async def test_signed_document_through_tls_reaches_both_nodes_with_the_client_address(
        tmp_path: Path, db_template: DatabaseTemplate, test_ca: DevelopmentCA,
        identities: dict[str, IssuedIdentity], caplog: pytest.LogCaptureFixture) -> None:
    nginx = tool("nginx")
    root = tmp_path / "nginx"
    root.mkdir()
    _certificate(root)
    async with db_template.clone(tmp_path) as url:
        settings = server_settings(tmp_path / "home", url, trusted_proxies=("127.0.0.1",))
        first, server1 = await start_server(settings, test_ca, identities)
        second, server2 = await start_server(settings, test_ca, identities)
        proc: subprocess.Popen[bytes] | None = None
        nodes: list[int] = []
        try:
            sender = await first.register(A)
            await first.register(B)
            port = free_port()
            nodes = [server1.port or 0, server2.port or 0]
            conf = _nginx_conf(root, port, nodes)
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
                caplog.set_level(logging.INFO, logger="axis.access")
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
        finally:
            if proc is not None:
                proc.terminate()
                proc.wait(timeout=15)
            await server1.close()
            await server2.close()
    posted = [json.loads(r.getMessage()) for r in caplog.records if r.name == "axis.access"
              and '"path": "/api/v1/documents"' in r.getMessage()]
    assert len(posted) >= 4 and len(set(ids)) == 4
    accepted = [p for p in posted if p["status"] == 202]
    assert {p["client"] for p in accepted} == {CLIENT_ADDRESS}
    assert all(p["agency"] == A for p in accepted)
    upstreams = {line.split("upstream=")[1].split()[0] for line in (root / "axis.access.log").read_text().splitlines()
                 if "/api/v1/documents" in line}
    assert upstreams == {f"127.0.0.1:{n}" for n in nodes}  # both nodes served
