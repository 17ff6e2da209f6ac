"""What the command modules share: the settings of this invocation, JSON output, URL redaction."""

from __future__ import annotations

import json
from typing import Any

import click

from axis.settings import Settings, load_settings


def settings_of(ctx: click.Context) -> Settings:
    """The settings of this invocation, loaded once (config/axis.toml, then the environment)."""
    settings: Settings = ctx.ensure_object(dict).setdefault("settings", load_settings())
    return settings


def echo_json(value: Any) -> None:
    """Print ``value`` as indented JSON, non-ASCII kept readable."""
    click.echo(json.dumps(value, ensure_ascii=False, indent=2, default=str))


def redact(url: str) -> str:
    """A database URL with its password hidden."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
