"""Comments and docs point at what a reader of the repository can open, not at a tracker or a private spec."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
#: "issue 16", "(issue #6)", "SPEC §4": places a reader of this repository cannot open.
UNREADABLE = re.compile(r"\b[Ii]ssues? #?\d+(?![\d.])|SPEC §|\bSPEC\.md\b")
SUFFIXES = {".py", ".md", ".html", ".toml", ".sh", ".yml", ".yaml", ".service"}


def unreadable_references(files: list[Path]) -> list[str]:
    """``path:line: text`` for each reference a reader could not follow."""
    found = []
    for path in files:
        for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
            if UNREADABLE.search(line):
                found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()[:120]}")
    return found


def _tracked() -> list[Path]:
    names = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    return [ROOT / n for n in names if Path(n).suffix in SUFFIXES and n != Path(__file__).relative_to(ROOT).as_posix()]


def test_no_comment_or_doc_points_at_an_issue_number_or_a_spec_section() -> None:
    assert unreadable_references(_tracked()) == []


def test_a_planted_reference_is_found(tmp_path: Path) -> None:
    planted = ROOT / "tests" / "layout" / "__planted_reference.py"
    try:
        planted.write_text("# see issue 16\n", encoding="utf-8")
        assert unreadable_references([planted])
    finally:
        planted.unlink()
