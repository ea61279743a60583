"""``pingan notifications`` (what was sent, what failed) and ``pingan chat`` (group webhooks)."""

from __future__ import annotations

import datetime as dt

import click
from sqlalchemy import select

from ivr import settings_of
from ivr.cli import Pingan, cli, emit_json, pass_pingan
from ivr.cli.staff import community_named
from ivr.db import session_scope
from ivr.domain import text_delivery
from ivr.notifiers import FORMATS
from ivr.notifiers.chat import webhook_host
from ivr.phones import display_phone
from ivr.tables import format_table
from storage import Community, Notification

STATUSES = ("pending", "sending", "sent", "maybe_sent", "failed", "cancelled")


@cli.command("notifications")
@click.option("--status", type=click.Choice(STATUSES))
@click.option("--escalation", "escalation_id", type=int, help="Only this escalation's.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array (with the bodies).")
@pass_pingan
def notifications(
    pingan: Pingan, status: str | None, escalation_id: int | None, as_json: bool
) -> None:
    """Alert messages: SMS and group-chat posts, with their tries, errors and (where the
    carrier reports it) whether the phone got the text."""
    settings = settings_of(pingan.app)
    with session_scope(pingan.app) as session:
        query = select(Notification).order_by(Notification.id)
        if status:
            query = query.where(Notification.status == status)
        if escalation_id is not None:
            query = query.where(Notification.escalation_id == escalation_id)
        rows = [
            {
                "id": n.id,
                "escalation": n.escalation_id,
                "channel": n.channel,
                "to": n.recipient if n.channel == "sms" else webhook_host(n.recipient),
                "kind": n.kind,
                "status": n.status,
                "tries": n.tries,
                "sent_at": _local(n.sent_at, settings.tz),
                "error": n.error,
                "delivery": n.delivery,
                "delivery_code": n.delivery_code,
                "delivered_at": _local(n.delivered_at, settings.tz),
                "body": n.body,
            }
            for n in session.scalars(query)
        ]
    if as_json:
        emit_json(rows)
        return
    headers = ["id", "escalation", "channel", "to", "kind", "status", "tries", "delivered", "error"]
    for row in rows:
        row["delivered"] = text_delivery.describe(row["delivery"], row["delivery_code"])
        if row["channel"] == "sms":
            row["to"] = display_phone(str(row["to"]), settings.phone_region)
    click.echo(format_table(headers, [[r[h] for h in headers] for r in rows]))


def _local(at: dt.datetime | None, tz: dt.tzinfo) -> str | None:
    return at.astimezone(tz).isoformat() if at else None


@cli.command("chat")
@click.argument("community", required=False)
@click.option("--url", help="The group robot's webhook URL.")
@click.option("--format", "format_", type=click.Choice(FORMATS), help="Message format.")
@click.option("--off", is_flag=True, help="Stop posting this community's escalations.")
@pass_pingan
def chat(
    pingan: Pingan, community: str | None, url: str | None, format_: str | None, off: bool
) -> None:
    """Post a community's escalations to a group chat (WeCom, DingTalk or generic JSON)."""
    with session_scope(pingan.app) as session:
        if community is None:
            found = session.scalars(select(Community).order_by(Community.name))
            rows = [
                [c.name, c.chat_format, webhook_host(c.chat_webhook_url)]
                for c in found
                if c.chat_webhook_url
            ]
            click.echo(format_table(["community", "format", "webhook host"], rows))
            return
        target = community_named(session, community)
        if off:
            target.chat_webhook_url = target.chat_format = None
            click.echo(f"{target.name}: no group chat")
            return
        if not url or not url.startswith(("https://", "http://")):
            raise click.ClickException("give --url with the robot's http(s) webhook URL, or --off")
        target.chat_webhook_url, target.chat_format = url, format_ or "json"
        click.echo(f"{target.name}: escalations go to {webhook_host(url)} ({target.chat_format})")
