"""The shared output helpers: aligned tables for people, JSON for machines."""

from __future__ import annotations

import json

import click
from click.testing import CliRunner

from axis.cli.common import echo_fields, echo_table, emit, json_option, table_lines


def test_table_aligns_vietnamese_text_by_what_it_shows() -> None:
    lines = table_lines(["code", "name", "state"], [["G22", "Văn phòng Chính phủ", "active"],
                                                  ["H41", "UBND tỉnh Nghệ An", None]])
    assert lines[0].startswith("CODE  NAME")
    # the third column starts at the same place on every line, accents or not
    starts = {line.index(word) for line, word in zip(lines, ["STATE", "active", "-"], strict=True)}
    assert len(starts) == 1


def test_table_cells_stay_on_one_line() -> None:
    lines = table_lines(["a", "b"], [["x\ny", "z"]])
    assert lines == ["A    B", "x y  z"]


def test_json_option_switches_between_people_and_machines() -> None:
    @click.command()
    @json_option
    def show(as_json: bool) -> None:
        value = {"id": "01J", "n": 2}
        emit(value, as_json, lambda: echo_table(["id", "n"], [[value["id"], value["n"]]], empty="none"))

    runner = CliRunner()
    assert json.loads(runner.invoke(show, ["--json"]).output) == {"id": "01J", "n": 2}
    assert runner.invoke(show, []).output.splitlines() == ["ID   N", "01J  2"]


def test_fields_right_align_labels() -> None:
    @click.command()
    def show() -> None:
        echo_fields([("id", "01J"), ("document", "7816/VPCP")])

    assert CliRunner().invoke(show, []).output.splitlines() == ["      id: 01J", "document: 7816/VPCP"]
