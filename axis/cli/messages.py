"""``axis messages search``: the operators' hub-wide message search on the local database (audited)."""

from __future__ import annotations

import getpass

import click
from sqlalchemy.ext.asyncio import AsyncSession

from axis.cli.common import echo_json, settings_of
from axis.exchange.search import KINDS, STATES, Hit, SearchPage, SearchRefused, parse_query, search_messages
from axis.runtime import run_in_session
from envelope.codes import VN_TZ
from storage.audit import append_event
from storage.people.accounts import Role, user_by_login
from storage.registry.agencies import agency_by_code


@click.group("messages")
def messages() -> None:
    """Every agency's messages, for operators."""


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _table(hits: list[Hit]) -> list[str]:
    lines = [f"{'received (VN)':<19}  {'kind':<8}  {'message id':<26}  {'from':<13}  {'to (state)':<32}  subject"]
    for h in hits:
        when = h.received_at.astimezone(VN_TZ).strftime("%Y-%m-%d %H:%M:%S")
        kind = h.kind + (f" {h.status_code}" if h.status_code else "")
        to = ", ".join(f"{c} ({s})" for c, s in h.recipients) or "—"
        lines.append(f"{when:<19}  {kind:<8}  {h.id:<26}  {h.sender_code:<13}  {_clip(to, 32):<32}  "
                     f"{_clip(h.subject, 60)}")
        lines.append(f"{'':<19}  {'':<8}  DocumentId {h.document_id}")
    return lines


@messages.command("search")
@click.option("--document-id", help="edXML DocumentId (exact).")
@click.option("--message-id", help="The axis's message id (exact).")
@click.option("--sender", metavar="CODE", help="Sending agency code.")
@click.option("--recipient", metavar="CODE", help="Receiving agency code.")
@click.option("--from", "date_from", metavar="DATE", help="Received on or after this day (Vietnam time).")
@click.option("--to", "date_to", metavar="DATE", help="Received on or before this day (Vietnam time).")
@click.option("--kind", type=click.Choice(KINDS), help="Documents or status messages.")
@click.option("--state", type=click.Choice(STATES), help="Some delivery of the message is in this state.")
@click.option("--sha256", help="SHA-256 of the stored message bytes.")
@click.option("--text", help="Text in the subject (case-insensitive).")
@click.option("--after", metavar="TOKEN", help="Continue below the page that printed this token.")
@click.option("--limit", type=click.IntRange(1, 500), default=50, show_default=True, help="Messages per page.")
@click.option("--as", "login", metavar="LOGIN", help="Your operator login (recorded in the audit entry).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def search(ctx: click.Context, document_id: str | None, message_id: str | None, sender: str | None,
           recipient: str | None, date_from: str | None, date_to: str | None, kind: str | None, state: str | None,
           sha256: str | None, text: str | None, after: str | None, limit: int, login: str | None,
           as_json: bool) -> None:
    """Search every agency's messages, newest first, a page at a time; each search is an audit entry."""
    values = {"document_id": document_id, "message_id": message_id, "sender": sender, "recipient": recipient,
              "from": date_from, "to": date_to, "kind": kind, "state": state, "sha256": sha256, "text": text,
              "after": after}
    try:
        query = parse_query({k: v for k, v in values.items() if v}, limit=limit)
    except SearchRefused as exc:
        raise click.BadParameter(exc.detail, param_hint=f"--{exc.extra.get('field', '').replace('_', '-')}") \
            from None

    async def work(session: AsyncSession) -> SearchPage:
        actor = f"cli:{getpass.getuser()}"
        if login:
            person = await user_by_login(session, login)
            if person is None or not person.active or person.role != Role.OPERATOR.value:
                raise click.ClickException(f"{login} is not an active operator")
            actor = f"user:{person.login}"
        for option, code in (("--sender", query.sender), ("--recipient", query.recipient)):
            if code and await agency_by_code(session, code) is None:
                # An unknown code would match nothing and read as "no messages match".
                raise click.BadParameter(f"no agency {code} is registered (axis agency list shows them)",
                                         param_hint=option)
        page = await search_messages(session, query)
        await append_event(session, actor=actor, action="messages.searched", subject="messages",
                           details={"via": "cli", "filters": query.filters(), "found": len(page.hits)})
        return page

    page = run_in_session(settings_of(ctx), work)
    if as_json:
        echo_json({"items": [h.as_json() for h in page.hits], "next": page.next})
        return
    if not page.hits:
        click.echo("no messages match")
        return
    for line in _table(page.hits):
        click.echo(line)
    more = f"; next page: --after {page.next}" if page.next else ""
    click.echo(f"{len(page.hits)} messages, newest first{more}")
