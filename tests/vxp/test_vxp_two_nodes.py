"""Two axis nodes on one database share the SDK secrets' key and the replay guard."""

from __future__ import annotations

from pathlib import Path

from cryptography.fernet import Fernet

from signing.keys import DevelopmentCA, IssuedIdentity
from tests.databases import DatabaseTemplate
from tests.harness import server_settings, start_server
from tests.vxp.conftest import sdk_for
from tests.vxp.sdk_client import SdkClient

A, B = "000.00.00.G22", "000.00.00.H29"


async def test_a_request_accepted_by_one_node_is_a_replay_on_the_other(
        tmp_path: Path, db_template: DatabaseTemplate, test_ca: DevelopmentCA,
        identities: dict[str, IssuedIdentity]) -> None:
    key = Fernet.generate_key().decode()
    async with db_template.clone(tmp_path) as url:
        one, server_one = await start_server(server_settings(tmp_path / "one", url, vxp_secret_key=key),
                                             test_ca, identities)
        two, server_two = await start_server(server_settings(tmp_path / "two", url, vxp_secret_key=key),
                                             test_ca, identities)
        try:
            a, b = await one.register(A), await one.register(B)
            sa = await sdk_for(one, a)
            _, signed = a.document([b])
            sent = (await sa.send_edoc(signed, {"from": A})).json()
            assert sent["status"] == "OK", sent
            on_two = SdkClient(two.url + "/vxp", sa.system_id, sa.secret)
            replayed = (await on_two.send("POST", "sendEdoc", sa.last_headers, signed + b"\r\n")).json()
            assert (replayed["status"], replayed["ErrorCode"]) == ("FAIL", "VXP.Replay")
            # The other node reads the secret with the shared key: a fresh request is served there.
            fresh = (await on_two.call("getSentEdocList", {"docId": sent["DocId"]})).json()
            assert fresh["status"] == "OK" and [r["toCode"] for r in fresh["data"]] == [B]
        finally:
            await server_two.close()
            await server_one.close()
