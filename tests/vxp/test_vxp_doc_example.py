"""docs/national-sdk.md: its worked HMAC is right and its Python example runs as written against /vxp."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import os
import re
import sys
from pathlib import Path

from tests.harness import Harness
from tests.vxp.conftest import sdk_for

DOC = Path(__file__).resolve().parents[2] / "docs" / "national-sdk.md"


def _block(after: str, language: str) -> str:
    text = DOC.read_text(encoding="utf-8")
    start = text.index(after)
    found = re.search(rf"```{language}\n(.*?)```", text[start:], re.S)
    assert found is not None, f"no {language} block after {after!r}"
    return found.group(1)


def test_the_worked_example_is_the_hmac_of_its_sign_header() -> None:
    lines = dict(line.split(": ", 1) for line in _block("**What the SDK signs.**", "text").splitlines())
    sign_header = lines["XroadVnpt-sign-header"]
    for name in ("XroadVnpt-systemid", "XroadVnpt-timestamp", "XroadVnpt-Content-Type"):
        assert f'"{name}"' in sign_header
    assert lines["XroadVnpt-hash-header"] == hmac.new(b"example-secret", sign_header.encode(),
                                                      hashlib.sha256).hexdigest()


async def test_the_python_example_runs_as_written(axis: Harness, tmp_path: Path) -> None:
    a = await axis.register("000.00.00.H41")
    sa = await sdk_for(axis, a)
    script = tmp_path / "example.py"
    script.write_text(_block("**Calling `/vxp` by hand**", "python"), encoding="utf-8")
    proc = await asyncio.create_subprocess_exec(
        sys.executable, str(script), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "AXIS": axis.url, "SYSTEM_ID": sa.system_id, "SECRET": sa.secret})
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, err.decode()
    assert out.decode().strip() == "{'status': 'OK', 'ErrorCode': '0', 'ErrorDesc': '', 'count': 0}", out
