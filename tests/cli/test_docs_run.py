"""The integration guide's first-hour blocks run as written, in order, against a real `axis serve`."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from tests.support.served import axis_serve

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "integrating.md"
SECTION = "## A first hour"
_BLOCK = re.compile(r"^```(sh|python)\n(.*?)^```", re.M | re.S)


def first_hour_blocks() -> list[tuple[str, str]]:
    """The (language, code) blocks of the guide's first-hour section, in order."""
    text = GUIDE.read_text(encoding="utf-8")
    section = text[text.index(SECTION):]
    following = section.find("\n## ", len(SECTION))
    section = section[:following] if following >= 0 else section
    return [(lang, code) for lang, code in _BLOCK.findall(section)]


def test_the_guide_has_a_shell_and_a_python_block() -> None:
    assert [lang for lang, _ in first_hour_blocks()] == ["sh", "python"]


def test_the_first_hour_runs_as_written(tmp_path: Path) -> None:
    work = tmp_path / "dms"
    work.mkdir()
    bin_dir = str(Path(sys.executable).parent)
    with axis_serve(tmp_path) as axis:
        env = axis.env | {"PATH": f"{bin_dir}:{axis.env.get('PATH', '')}"}
        for lang, code in first_hour_blocks():
            command = ["bash", "-euo", "pipefail", "-c", code] if lang == "sh" else [sys.executable, "-c", code]
            done = subprocess.run(command, cwd=work, env=env, capture_output=True, text=True, timeout=180)
            assert done.returncode == 0, f"{lang} block failed:\n{done.stdout}\n{done.stderr}"
            if lang == "sh":
                # The trace after the 01: the document was delivered.
                assert '"state": "delivered"' in done.stdout or '"state":"delivered"' in done.stdout, done.stdout
                assert (work / "signed.xml").exists() and (work / "status-01.xml").exists()
            else:
                assert re.search(r"^sent \w+ queued$", done.stdout, re.M), done.stdout
                assert "received and receipted 000.00.00.G22," in done.stdout
