"""What the CLI says about the axis's own row, and what `axis serve` prints when it starts."""

from __future__ import annotations

from pathlib import Path

from axis.settings import load_settings
from axis.web.i18n import CATALOGUE
from axis.wording import AXIS_ROW_STATE
from tests.cli.conftest import Axis
from tests.support.served import axis_serve


def test_the_axis_row_reads_as_the_web_english_and_json_state_is_a_machine_value(axis_server: Axis) -> None:
    axis_code = load_settings(environ=axis_server.env).axis_code
    rows = axis_server.json("agency", "list", "--json")
    states = {r["code"]: r["state"] for r in rows}
    assert states[axis_code] == "axis"
    assert set(states.values()) <= {"axis", "active", "disabled"}
    table = axis_server.run("agency", "list").stdout
    axis_line = next(line for line in table.splitlines() if line.startswith(axis_code))
    assert AXIS_ROW_STATE in axis_line
    # One wording: the web page's English state of that row is the same sentence.
    assert CATALOGUE["agencies.state.axis"][1].lower() == AXIS_ROW_STATE.lower()


def test_serve_prints_one_line_where_it_listens_with_its_home_and_database(tmp_path: Path) -> None:
    with axis_serve(tmp_path) as served:
        pass
    lines = [line for line in (tmp_path / "serve.log").read_text().splitlines() if '"event": "request"' not in line]
    # The embedded SQLite is migrated and the scheduler adds its jobs: neither narrates it at INFO.
    assert len(lines) == 1, lines
    assert served.url in lines[0] and str(served.home) in lines[0] and "axis.db" in lines[0]
