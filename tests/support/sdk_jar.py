"""The national SDK's own jar (SDKVXP 2.0.1), run by Java as a DMS runs it, through a small probe program."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

#: Where `fetch github:PVN-Organization/API-Gateway-iOffice` leaves the SDK's repository.
MIRROR = Path("/work/.mirror/PVN-Organization+API-Gateway-iOffice/repo")
LIB = "JDK 1.8/SDKVXP_Example/lib"
PROBE = Path(__file__).parent / "java" / "SdkProbe.java"
CACHE = Path(os.environ.get("AXIS_SDKVXP_CACHE", "/tmp/axis-sdkvxp"))


def sdk_classpath() -> str | None:
    """The SDK's jars plus the compiled probe, or None when Java or the SDK is not on this machine."""
    if shutil.which("java") is None or shutil.which("javac") is None:
        return None
    lib = Path(os.environ["AXIS_SDKVXP_LIB"]) if "AXIS_SDKVXP_LIB" in os.environ else CACHE / "lib"
    if not (lib / "SDKVXP-2.0.1.jar").exists():
        if not MIRROR.exists():
            return None
        lib.mkdir(parents=True, exist_ok=True)
        names = subprocess.run(["git", "--git-dir", str(MIRROR), "ls-tree", "--name-only", "HEAD", LIB + "/"],
                               check=True, capture_output=True, text=True).stdout.splitlines()
        for name in names:
            blob = subprocess.run(["git", "--git-dir", str(MIRROR), "show", f"HEAD:{name}"],
                                  check=True, capture_output=True).stdout
            (lib / Path(name).name).write_bytes(blob)
    classes = CACHE / "probe"
    if not (classes / "SdkProbe.class").exists() or \
            (classes / "SdkProbe.class").stat().st_mtime < PROBE.stat().st_mtime:
        classes.mkdir(parents=True, exist_ok=True)
        subprocess.run(["javac", "-cp", f"{lib}/*", "-d", str(classes), str(PROBE)], check=True,
                       capture_output=True)
    return f"{lib}/*:{classes}"


@dataclass(frozen=True)
class SdkOutcome:
    """What the DMS's code sees: the result's fields, or that the SDK crashed on the answer."""

    status: str | None
    error_code: str | None
    error_desc: str | None
    extra: str | None
    output: str

    @property
    def crashed(self) -> bool:
        """True when the SDK hit a NullPointerException (or returned nothing) reading the answer."""
        return self.status in (None, "null") or "NullPointerException" in self.output


async def run_sdk(classpath: str, endpoint: str, system_id: str, secret: str, store: Path, operation: str,
                  *args: str, zone: str = "Asia/Ho_Chi_Minh") -> SdkOutcome:
    """One SDK call in a fresh JVM whose default time zone is ``zone``."""
    proc = await asyncio.create_subprocess_exec(
        "java", f"-Duser.timezone={zone}", "-cp", classpath, "SdkProbe", endpoint, system_id, secret, str(store),
        operation, *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    out, _ = await asyncio.wait_for(proc.communicate(), 120)
    text = out.decode("utf-8", "replace")
    result = next((line for line in text.splitlines() if line.startswith("RESULT ")), None)
    if result is None:
        return SdkOutcome(None, None, None, None, text)
    parts = result[len("RESULT "):].split("|")
    parts += [None] * (4 - len(parts))  # type: ignore[list-item]
    fields = [None if p == "null" else p for p in parts[:4]]
    return SdkOutcome(fields[0], fields[1], fields[2], fields[3], text)
