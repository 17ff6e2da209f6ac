"""`make run` sets up only what running needs; `make test` also what testing needs (browser, xmlsec1)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _dry_run(target: str) -> list[str]:
    make = shutil.which("make")
    if make is None:
        pytest.fail("make is missing (apt-get install make)")
    out = subprocess.run([make, "-n", "-C", str(ROOT), target], capture_output=True, text=True, check=True).stdout
    return out.splitlines()


def _deps_asked(lines: list[str]) -> list[str]:
    """The purposes system-deps.sh is run for (a bare run means the old everything-at-once)."""
    return [line.split("system-deps.sh", 1)[1].strip() or "everything" for line in lines if "system-deps.sh" in line]


def _packages_for(purpose: str) -> str:
    script = (ROOT / "scripts" / "system-deps.sh").read_text()
    block = script.split(f"{purpose})", 1)
    return block[1].split(";;", 1)[0] if len(block) == 2 else script


def test_make_run_installs_no_browser() -> None:
    asked = _deps_asked(_dry_run("run"))
    assert asked and all(purpose == "run" for purpose in asked), asked
    assert "chromium" not in _packages_for("run")


def test_make_test_installs_the_browser_and_xmlsec1() -> None:
    assert "test" in _deps_asked(_dry_run("test"))
    packages = _packages_for("test")
    assert "chromium" in packages and "xmlsec1" in packages
