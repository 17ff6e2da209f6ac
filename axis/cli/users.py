"""``axis user ...``: people who sign in to the web UI."""

from __future__ import annotations

import os
from typing import Any

import click

from axis.cli.common import echo_json, emit, json_option, settings_of
from axis.runtime import run_in_session
from storage.people.accounts import Role, UserError, add_user, check_password_strength, list_users

PASSWORD_ENV = "AXIS_PASSWORD"


@click.group()
def user() -> None:
    """Web UI users (clerks, archivists, operators)."""


def _password() -> str:
    """The new password: from AXIS_PASSWORD (scripts), else asked twice without echo."""
    from_env = os.environ.get(PASSWORD_ENV)
    if from_env is not None:
        return from_env
    return str(click.prompt("Password", hide_input=True, confirmation_prompt=True))


@user.command("add")
@click.argument("login")
@click.option("--agency", "agency_code", required=True, help="Code of the agency the person works for.")
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True,
              help="clerk: inbox/outbox; archivist: also archive pages; operator: also administration.")
@json_option
@click.pass_context
def user_add(ctx: click.Context, login: str, agency_code: str, role: str, as_json: bool) -> None:
    """Add a person; the password comes from AXIS_PASSWORD or a prompt and is stored scrypt-hashed."""
    password = _password()
    try:
        check_password_strength(password)
    except UserError as exc:
        raise click.ClickException(str(exc)) from None

    async def work(session: Any) -> dict[str, Any]:
        added = await add_user(session, login, agency_code, role, password)
        return {"login": added.login, "agency": agency_code, "role": added.role}

    try:
        added = run_in_session(settings_of(ctx), work)
    except UserError as exc:
        raise click.ClickException(str(exc)) from None
    emit(added, as_json, lambda: click.echo(f"added {added['role']} {added['login']} of {added['agency']}"))


@user.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def user_list(ctx: click.Context, as_json: bool) -> None:
    """List web UI users."""

    async def work(session: Any) -> list[dict[str, Any]]:
        return [{"login": u.login, "agency": code, "role": u.role, "active": u.active}
                for u, code in await list_users(session)]

    rows = run_in_session(settings_of(ctx), work)
    if as_json:
        echo_json(rows)
        return
    if not rows:
        click.echo("no users (add one with: axis user add LOGIN --agency CODE --role clerk)")
        return
    for r in rows:
        click.echo(f"{r['login']:<24} {r['agency']}  {r['role']:<9} {'active' if r['active'] else 'disabled'}")
