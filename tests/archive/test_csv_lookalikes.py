"""CSV neutralisation looks past leading whitespace and invisible characters, and knows fullwidth signs."""

from __future__ import annotations

import csv
import io

import pytest

from axis.archive.csv_export import csv_text, neutralise

HOSTILE = [
    " =HYPERLINK(\"http://x\")",  # a leading space
    "\u00a0=1+1",  # NBSP
    "\u200b=1+1",  # zero-width space
    "\ufeff@SUM(A1)",  # byte-order mark
    "\ufeff\u00a0 \u200b+1",
    "＝HYPERLINK(\"http://x\")",  # fullwidth equals
    "＋1",  # fullwidth plus
    "－1",  # fullwidth hyphen-minus
    "＠SUM(A1)",  # fullwidth commercial at
    "\u22121+1",  # minus sign
    "\ufe66cmd",  # small equals sign
]


@pytest.mark.parametrize("value", HOSTILE)
def test_a_formula_behind_whitespace_or_a_lookalike_is_neutralised(value: str) -> None:
    assert neutralise(value) == "'" + value
    row = next(csv.reader(io.StringIO(csv_text(["subject"], [{"subject": value}]).split("\r\n", 1)[1])))
    assert row == ["'" + value]


@pytest.mark.parametrize("value", ["Về việc kiểm tra", " Công văn số 12", "\u00a0Tờ trình", "1-2", "", "＃3"])
def test_ordinary_text_is_left_alone(value: str) -> None:
    assert neutralise(value) == value
