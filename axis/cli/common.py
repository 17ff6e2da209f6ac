"""What the command modules share: the settings of this invocation, output (tables, summaries, JSON), URL redaction.

Every command that prints data prints it for people by default (an aligned table, or a one-line
summary naming the message id) and as JSON with ``--json`` (:func:`json_option`), via :func:`emit`.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import click

from axis.settings import DEFAULT_CONFIG, Settings, load_settings

F = TypeVar("F", bound=Callable[..., Any])


#: Commands that make a home where there is none: they say where (the others would silently start an empty one).
MAKES_A_HOME = frozenset({"serve", "upgrade", "demo"})


def settings_of(ctx: click.Context) -> Settings:
    """The settings of this invocation, loaded once (config/axis.toml, then the environment)."""
    obj = ctx.ensure_object(dict)
    if "settings" not in obj:
        settings = load_settings()
        if ctx.info_name not in MAKES_A_HOME:
            refuse_a_missing_home(settings)
        obj["settings"] = settings
    found: Settings = obj["settings"]
    return found


def refuse_a_missing_home(settings: Settings, cwd: Path | None = None) -> None:
    """Refuse to run from a folder with no axis home, rather than start an empty database or a new CA there."""
    cwd = cwd or Path.cwd()
    if "AXIS_HOME" in settings.sources or settings.home.is_absolute() or (cwd / settings.home).exists():
        return
    if cwd.resolve() == DEFAULT_CONFIG.parent.parent:
        return  # the project folder itself: a fresh clone starts its home here
    raise click.ClickException(
        f"no axis home here: looked for {cwd / settings.home} (the home of {DEFAULT_CONFIG}) and AXIS_HOME is not "
        f"set; run this from the axis folder or set AXIS_HOME=/path/to/var (and AXIS_DATABASE_URL if not SQLite)")


def echo_json(value: Any) -> None:
    """Print ``value`` as indented JSON, non-ASCII kept readable."""
    click.echo(json.dumps(value, ensure_ascii=False, indent=2, default=str))


def json_option(func: F) -> F:
    """Add ``--json`` (parameter ``as_json``): print the data as JSON for machines instead of for people."""
    return click.option("--json", "as_json", is_flag=True, help="Print JSON for machines instead of text.")(func)


def emit(value: Any, as_json: bool, human: Callable[[], None]) -> None:
    """Print ``value`` as JSON when ``as_json``, else call ``human`` to print it for people."""
    if as_json:
        echo_json(value)
    else:
        human()


def _width(text: str) -> int:
    """Terminal columns ``text`` takes: combining marks take none, wide (CJK) characters two."""
    return sum(0 if unicodedata.combining(c) else 2 if unicodedata.east_asian_width(c) in "WF" else 1
               for c in text)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return " ".join(str(value).split())  # one line per row, whatever the value holds


def table_lines(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> list[str]:
    """Rows as aligned text lines under upper-case headers (the last column is not padded)."""
    cells = [[_cell(v) for v in row] for row in rows]
    head = [h.upper() for h in headers]
    widths = [max([_width(head[i])] + [_width(r[i]) for r in cells]) for i in range(len(head))]

    def line(values: Sequence[str]) -> str:
        padded = [v + " " * (widths[i] - _width(v)) for i, v in enumerate(values[:-1])]
        return "  ".join([*padded, values[-1]]).rstrip()

    return [line(head), *(line(r) for r in cells)]


def echo_table(headers: Sequence[str], rows: Iterable[Sequence[Any]], empty: str | None = None) -> None:
    """Print rows as an aligned table; ``empty`` (when given) instead of a bare header when there are none."""
    rows = list(rows)
    if not rows and empty is not None:
        click.echo(empty)
        return
    for text in table_lines(headers, rows):
        click.echo(text)


def echo_fields(fields: Sequence[tuple[str, Any]]) -> None:
    """Print label/value pairs, one per line, labels right-aligned (one record for people)."""
    width = max((_width(label) for label, _ in fields), default=0)
    for label, value in fields:
        click.echo(f"{' ' * (width - _width(label))}{label}: {_cell(value)}")


def redact(url: str) -> str:
    """A database URL with its password hidden."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
