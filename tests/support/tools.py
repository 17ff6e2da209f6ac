"""Debian tools the deployment tests drive: found, or the test fails saying how to install them."""

from __future__ import annotations

import shutil

import pytest


def tool(name: str) -> str:
    """The path of command ``name``; fail (never skip) naming `make setup-test` when it is missing."""
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed: run `make setup-test` (scripts/system-deps.sh installs it)")
    return found
