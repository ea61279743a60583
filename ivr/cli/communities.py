"""``pingan communities``: every setting the admin pages edit, from a script."""

from __future__ import annotations

from typing import Any

import click
from sqlalchemy import select

from ivr import clock_of, settings_of
from ivr.cli import Pingan, cli, emit_json, pass_pingan
from ivr.cli.staff import community_named
from ivr.db import session_scope
from ivr.domain import communities
from ivr.notifiers.chat import webhook_host
from ivr.tables import format_table
from storage import Community

HEADERS = ["name", "duty_phone", "hotline", "round_times", "window", "language", "chat"]


@cli.group("communities")
def communities_group() -> None:
    """Communities: duty phone, hotline, round times, calling window, language."""


def _row(community: Community, pingan: Pingan) -> dict[str, Any]:
    """The community as stored, with the deployment's defaults filled in where it has none."""
    settings = settings_of(pingan.app)
    default_times = ",".join(t.strftime("%H:%M") for t in settings.round_times)
    start, end = (t.strftime("%H:%M") for t in settings.call_window)
    if end == "23:59":
        end = "24:00"
    return {
        "id": community.id,
        "name": community.name,
        "duty_phone": community.duty_phone,
        "hotline": community.hotline,
        "round_times": community.round_times or default_times,
        "window": f"{community.window_start or start}-{community.window_end or end}",
        "language": community.language or settings.language,
        "chat": webhook_host(community.chat_webhook_url) if community.chat_webhook_url else None,
        "chat_format": community.chat_format,
        "defaults": [
            key
            for key, value in (
                ("round_times", community.round_times),
                ("window", community.window_start),
                ("language", community.language),
            )
            if value is None
        ],
    }


@communities_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
@pass_pingan
def list_(pingan: Pingan, as_json: bool) -> None:
    """Every community and its settings (defaults shown where it has none of its own)."""
    with session_scope(pingan.app) as session:
        rows = [
            _row(c, pingan) for c in session.scalars(select(Community).order_by(Community.name))
        ]
    if as_json:
        emit_json(rows)
        return
    click.echo(format_table(HEADERS, [[r[h] or "-" for h in HEADERS] for r in rows]))


@communities_group.command("show")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object.")
@pass_pingan
def show(pingan: Pingan, name: str, as_json: bool) -> None:
    """One community's settings."""
    with session_scope(pingan.app) as session:
        row = _row(community_named(session, name), pingan)
    if as_json:
        emit_json(row)
        return
    for key in HEADERS:
        default = " (default)" if key in row["defaults"] else ""
        click.echo(f"{key:12} {row[key] or '-'}{default}")


@communities_group.command("set")
@click.argument("name")
@click.option("--duty-phone", help="Phone 0 in a call reaches after the staff on duty; '' clears.")
@click.option("--hotline", help="The community's number read to residents; '' clears.")
@click.option("--round-times", help="Round times, e.g. 09:00,16:00; '' for the default.")
@click.option("--window", help="Calling window, e.g. 08:00-20:00; '' for the default.")
@click.option("--language", help="Prompt language of residents without one (zh-CN, en, yue).")
@pass_pingan
def set_(
    pingan: Pingan,
    name: str,
    duty_phone: str | None,
    hotline: str | None,
    round_times: str | None,
    window: str | None,
    language: str | None,
) -> None:
    """Change a community's settings, checked as on the admin page."""
    app = pingan.app
    try:
        values = _values(app, duty_phone, hotline, round_times, window, language)
    except communities.CommunityError as exc:
        raise click.ClickException(str(exc)) from None
    if not values:
        raise click.UsageError("give at least one setting to change")
    with session_scope(app) as session:
        community = community_named(session, name)
        changed = communities.apply(session, community, values, "cli", clock_of(app).now(), "cli")
        row = _row(community, pingan)
    if not changed:
        click.echo(f"{name}: nothing changed")
        return
    click.echo(f"{name}: " + ", ".join(f"{k} {row[_shown(k)] or '-'}" for k in changed))


def _values(
    app: Any,
    duty_phone: str | None,
    hotline: str | None,
    round_times: str | None,
    window: str | None,
    language: str | None,
) -> dict[str, str | None]:
    region = settings_of(app).phone_region
    values: dict[str, str | None] = {}
    if duty_phone is not None:
        values["duty_phone"] = communities.phone(duty_phone, "duty phone", region)
    if hotline is not None:
        values["hotline"] = communities.phone(hotline, "hotline", region)
    if round_times is not None:
        values["round_times"] = communities.round_times(round_times)
    if window is not None:
        values["window_start"], values["window_end"] = communities.window_of(window)
    if language is not None:
        values["language"] = communities.language(language)
    return values


def _shown(field: str) -> str:
    return "window" if field.startswith("window_") else field
