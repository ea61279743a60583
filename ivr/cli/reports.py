"""``pingan checkins``, ``pingan calls``, ``pingan escalations``: what was stored."""

from __future__ import annotations

import datetime as dt

import click

from ivr import settings_of
from ivr.cli import Pingan, cli, emit_json, pass_pingan
from ivr.db import session_scope
from ivr.reports import call_rows, checkin_rows, escalation_rows
from ivr.tables import format_table

date_option = click.option(
    "--date", "day", type=click.DateTime(["%Y-%m-%d"]), help="Local date (YYYY-MM-DD); default all."
)
community_option = click.option("--community", help="Only this community.")
json_option = click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")


def _day(value: dt.datetime | None) -> dt.date | None:
    return value.date() if value else None


@cli.command("checkins")
@date_option
@community_option
@json_option
@pass_pingan
def checkins(pingan: Pingan, day: dt.datetime | None, community: str | None, as_json: bool) -> None:
    """Check-ins: status, temperature, symptoms and needs."""
    with session_scope(pingan.app) as session:
        rows = checkin_rows(session, settings_of(pingan.app).tz, _day(day), community)
    if as_json:
        emit_json(rows)
        return
    click.echo(
        format_table(
            [
                "date",
                "round",
                "community",
                "name",
                "phone",
                "status",
                "°C",
                "symptoms",
                "needs",
                "callback",
                "tries",
            ],
            [
                [
                    r["date"],
                    r["round"],
                    r["community"],
                    r["name"],
                    r["phone"],
                    r["status"],
                    r["temperature_c"],
                    r["symptoms"],
                    r["needs"],
                    r["callback_requested"],
                    r["attempts"],
                ]
                for r in rows
            ],
        )
    )


@cli.command("calls")
@date_option
@community_option
@json_option
@pass_pingan
def calls(pingan: Pingan, day: dt.datetime | None, community: str | None, as_json: bool) -> None:
    """Every call attempt with its carrier status and the keys pressed."""
    with session_scope(pingan.app) as session:
        rows = call_rows(session, settings_of(pingan.app).tz, _day(day), community)
    if as_json:
        emit_json(rows)
        return
    click.echo(
        format_table(
            ["started", "name", "phone", "try", "status", "answered_by", "secs", "outcome", "keys"],
            [
                [
                    (r["started_at"] or "")[:19],
                    r["name"],
                    r["phone"],
                    r["attempt"],
                    r["status"],
                    r["answered_by"],
                    r["duration_s"],
                    r["outcome"],
                    " ".join(f"{k['step']}:{k['keys'] or '-'}" for k in r["keys"]),
                ]
                for r in rows
            ],
        )
    )


@cli.group("escalations", invoke_without_command=True)
@click.option("--status", type=click.Choice(["open", "acknowledged", "resolved"]))
@community_option
@json_option
@click.pass_context
def escalations(
    ctx: click.Context, status: str | None, community: str | None, as_json: bool
) -> None:
    """The escalation list (subcommands act on one escalation)."""
    if ctx.invoked_subcommand is not None:
        return
    pingan = ctx.ensure_object(Pingan)
    with session_scope(pingan.app) as session:
        rows = escalation_rows(session, settings_of(pingan.app).tz, status, community)
    if as_json:
        emit_json(rows)
        return
    click.echo(
        format_table(
            [
                "id",
                "opened",
                "community",
                "name",
                "phone",
                "reason",
                "severity",
                "status",
                "°C",
                "detail",
            ],
            [
                [
                    r["id"],
                    (r["opened_at"] or "")[:16],
                    r["community"],
                    r["name"],
                    r["phone"],
                    r["reason"],
                    r["severity"],
                    r["status"],
                    r["temperature_c"],
                    (r["detail"] or "").splitlines()[-1][:60] if r["detail"] else "",
                ]
                for r in rows
            ],
        )
    )
