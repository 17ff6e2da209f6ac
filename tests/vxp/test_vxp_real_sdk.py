"""The national SDK's own jar, run by Java, against /vxp: every refusal reaches the DMS as our ErrorCode."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.harness import Harness
from tests.support.sdk_jar import run_sdk, sdk_classpath
from tests.vxp.conftest import sdk_for

A, B = "000.00.00.G22", "000.00.00.H29"
CLASSPATH = sdk_classpath()
pytestmark = pytest.mark.skipif(CLASSPATH is None, reason="Java or the SDKVXP jar is not on this machine")


@pytest.mark.parametrize("zone", ["Asia/Ho_Chi_Minh", "UTC"])
async def test_real_sdk_sends_and_reads_back_with_its_jvm_in_vietnam_time_or_utc(axis: Harness, tmp_path: Path,
                                                                               zone: str) -> None:
    assert CLASSPATH is not None
    a, b = await axis.register(A), await axis.register(B)
    sa, sb = await sdk_for(axis, a), await sdk_for(axis, b)
    _, signed = a.document([b])
    file = tmp_path / "edoc.edxml"
    file.write_bytes(signed)
    sent = await run_sdk(CLASSPATH, sa.endpoint, sa.system_id, sa.secret, tmp_path, "sendEdoc", str(file), A,
                         zone=zone)
    assert (sent.status, sent.error_code) == ("OK", "0"), sent.output
    assert sent.extra
    got = await run_sdk(CLASSPATH, sb.endpoint, sb.system_id, sb.secret, tmp_path, "getEdoc", sent.extra,
                        zone=zone)
    assert (got.status, got.error_code) == ("OK", "0"), got.output


async def test_real_sdk_sees_our_error_code_for_a_wrong_secret_on_every_method(axis: Harness, tmp_path: Path) -> None:
    assert CLASSPATH is not None
    a, b = await axis.register(A), await axis.register(B)
    sa = await sdk_for(axis, a)
    _, signed = a.document([b])
    file = tmp_path / "edoc.edxml"
    file.write_bytes(signed)
    calls = [("sendEdoc", str(file), A), ("getEdoc", "no-such-doc"), ("getReceivedEdocList",),
             ("countReceiveEdoc",), ("updateStatus", "no-such-doc")]
    for operation, *args in calls:
        seen = await run_sdk(CLASSPATH, sa.endpoint, sa.system_id, "not-the-secret", tmp_path, operation, *args)
        assert not seen.crashed, (operation, seen.output)
        assert (seen.status, seen.error_code) == ("FAIL", "VXP.BadHmac"), (operation, seen.output)
        assert seen.error_desc


async def test_real_sdk_sees_stale_timestamp_with_what_the_axis_read(axis: Harness, tmp_path: Path) -> None:
    assert CLASSPATH is not None
    a, b = await axis.register(A), await axis.register(B)
    sa = await sdk_for(axis, a)
    _, signed = a.document([b])
    file = tmp_path / "edoc.edxml"
    file.write_bytes(signed)
    # UTC-3 is neither Vietnam time nor UTC: hours off whichever way it is read.
    seen = await run_sdk(CLASSPATH, sa.endpoint, sa.system_id, sa.secret, tmp_path, "sendEdoc", str(file), A,
                         zone="America/Sao_Paulo")
    assert not seen.crashed, seen.output
    assert (seen.status, seen.error_code) == ("FAIL", "VXP.StaleTimestamp"), seen.output
    assert seen.error_desc and "behind the axis" in seen.error_desc and "UTC+7" in seen.error_desc, seen.error_desc
