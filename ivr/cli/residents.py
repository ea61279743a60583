"""``pingan residents``: import, list, release, hold."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click
from sqlalchemy import select
from sqlalchemy.orm import Session

from ivr import clock_of, flow_of, settings_of
from ivr.cli import Pingan, cli, emit_json, pass_pingan
from ivr.db import session_scope
from ivr.domain import holds, households, news
from ivr.domain.residents_add import AddError, add_resident
from ivr.domain.residents_import import (
    ImportFileError,
    apply_import,
    columns_help,
    parse_csv,
    parse_day,
    plan_import,
)
from ivr.phones import PhoneError, normalize_phone
from ivr.tables import format_table
from storage import Community, Resident


@cli.group("residents")
def residents() -> None:
    """The resident registry."""


@residents.command("import", help=f"Import residents from a CSV file: {columns_help()}.")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Report what would change without saving.")
@pass_pingan
def import_(pingan: Pingan, file: Path, dry_run: bool) -> None:
    settings = settings_of(pingan.app)
    try:
        parsed = parse_csv(file.read_bytes(), settings.phone_region, settings.language)
    except ImportFileError as exc:
        raise click.ClickException(str(exc)) from None
    with session_scope(pingan.app) as session:
        plan = plan_import(session, parsed)
        report = apply_import(session, plan, clock_of(pingan.app).now())
        if dry_run:
            session.rollback()
    click.echo("\n".join(report.format_report()))
    if dry_run:
        click.echo("(dry run: nothing was saved)")


# Every command that takes a resident's phone takes this too: a shared phone is a household.
member_option = click.option(
    "--name",
    "member",
    metavar="NAME",
    help="Which resident, when several share the phone (a household).",
)


def find_resident(session: Session, phone: str, region: str, member: str | None = None) -> Resident:
    """The resident with this phone; of a household's, the one named (never just the first:
    acting on the wrong member of a couple would hold or release the other's calls)."""
    try:
        e164 = normalize_phone(phone, region)
    except PhoneError as exc:
        raise click.ClickException(f"{phone!r}: {exc}") from None
    query = select(Resident).where(Resident.phone == e164).order_by(Resident.id)
    found = list(session.scalars(query))
    if not found:
        raise click.ClickException(f"no resident has the phone number {e164}")
    names = "、".join(r.name for r in found)
    if member is not None:
        chosen = [r for r in found if r.name == member.strip()]
        if len(chosen) != 1:
            raise click.UsageError(f"{e164} is the phone of {names}, not of {member!r}")
        return chosen[0]
    if len(found) > 1:
        raise click.UsageError(f"{e164} is shared by {names}: say whom with --name NAME")
    return found[0]


def resident_state(resident: Resident, today: dt.date) -> str:
    if resident.released_at:
        return f"released ({resident.release_reason or 'by hand'})"
    if resident.phone_invalid_at:
        return f"phone invalid ({resident.phone_error})"
    if resident.hold_until and resident.hold_until >= today:
        return f"on hold until {resident.hold_until} ({resident.hold_reason})"
    if resident.isolation_start and resident.isolation_start > today:
        return "not started"
    return "monitored"


def _iso(day: dt.date | None) -> str | None:
    return day.isoformat() if day else None


@residents.command("list")
@click.option("--community", help="Only this community.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
@pass_pingan
def list_(pingan: Pingan, community: str | None, as_json: bool) -> None:
    """Residents with their isolation period and whether they are being called."""
    settings = settings_of(pingan.app)
    today = clock_of(pingan.app).now().astimezone(settings.tz).date()
    with session_scope(pingan.app) as session:
        query = select(Resident, Community).join(Community).order_by(Community.name, Resident.name)
        if community:
            query = query.where(Community.name == community)
        found = session.execute(query).all()
        homes = households.household_names(session, [r.phone for r, _ in found])
        rows = [
            {
                "phone": r.phone,
                "name": r.name,
                "community": c.name,
                "address": r.address,
                "language": r.language,
                "lives_alone": r.lives_alone,
                "isolation_start": _iso(r.isolation_start),
                "isolation_end": _iso(r.isolation_end()),
                "state": resident_state(r, today),
                "hold_until": _iso(r.hold_until),
                "released_at": (
                    r.released_at.astimezone(settings.tz).isoformat(timespec="seconds")
                    if r.released_at
                    else None
                ),
                "preferred_times": r.preferred_times,
                "household": homes.get(r.phone),  # everyone sharing the phone, or None
            }
            for r, c in found
        ]
    if as_json:
        emit_json(rows)
        return
    click.echo(
        format_table(
            ["community", "name", "phone", "address", "lang", "alone", "isolation", "state"],
            [
                [
                    r["community"],
                    r["name"],
                    r["phone"],
                    r["address"],
                    r["language"],
                    r["lives_alone"],
                    f"{r['isolation_start'] or '?'}…{r['isolation_end'] or '?'}",
                    r["state"],
                ]
                for r in rows
            ],
        )
    )


@residents.command("add")
@click.argument("name")
@click.argument("phone")
@click.option("--community", required=True, help="The community (created if new).")
@click.option("--address")
@click.option("--language", help="zh-CN, en or yue (default PINGAN_LANGUAGE).")
@click.option("--isolation-start", help="First day of isolation, e.g. 2026-12-01.")
@click.option("--isolation-days", help="Length of the isolation (default 14).")
@click.option("--lives-alone", is_flag=True, help="Called first in every round.")
@click.option("--emergency-contact", help="A family member's phone.")
@click.option("--notify-family", is_flag=True, help="Text the emergency contact when unreachable.")
@click.option("--notes")
@click.option("--preferred-times", help="This resident's own round times, e.g. 10:30,17:00.")
@click.option("--by", "actor", default="cli", help="Who adds the resident.")
@pass_pingan
def add(pingan: Pingan, /, name: str, phone: str, actor: str, **options: str | bool | None) -> None:
    """Add one resident (the same rules as a CSV import; an existing phone is refused)."""
    fields = {"name": name, "phone": phone}
    for column, value in options.items():
        if isinstance(value, bool):
            fields[column] = "yes" if value else "no"
        elif value is not None:
            fields[column] = value
    settings = settings_of(pingan.app)
    with session_scope(pingan.app) as session:
        try:
            resident = add_resident(
                session,
                fields,
                clock_of(pingan.app).now(),
                region=settings.phone_region,
                default_language=settings.language,
                actor=actor,
            )
        except AddError as exc:
            raise click.ClickException("; ".join(exc.reasons)) from None
        click.echo(f"Added {resident.name} ({resident.phone}) to {resident.community.name}.")


@residents.command("release")
@click.argument("phone")
@click.option("--reason", default="released by staff", show_default=True)
@click.option("--by", "actor", default="cli", help="Who releases the resident.")
@click.option(
    "--tell/--no-tell",
    default=True,
    show_default=True,
    help="Tell a resident released before their last day: a text to a mobile, one short call"
    " to a landline (or any number no text reaches).",
)
@member_option
@pass_pingan
def release(
    pingan: Pingan, phone: str, reason: str, actor: str, tell: bool, member: str | None
) -> None:
    """Stop calling a resident (isolation over, moved away, …)."""
    now = clock_of(pingan.app).now()
    with session_scope(pingan.app) as session:
        resident = find_resident(session, phone, settings_of(pingan.app).phone_region, member)
        text = news.release_text(flow_of(pingan.app), resident) if tell else None
        told = holds.release(
            session, resident, reason, actor, settings_of(pingan.app), now, tell=text
        )
        click.echo(f"{resident.name} ({resident.phone}) released: {reason}")
        if told == holds.CALLED:
            click.echo(
                f"{resident.name} is on a landline, which no text reaches: Pingan calls them once"
                " to tell them (in calling hours); if nobody answers, tell them by phone."
            )


@residents.command("hold")
@click.argument("phone")
@click.option(
    "--until",
    "until",
    required=True,
    help="Last local date without calls (2026-12-10, 2026/12/10 or 2026年12月10日).",
)
@click.option("--reason", required=True, help="In hospital, away with family, …")
@click.option("--by", "actor", default="cli", help="Who puts the hold.")
@member_option
@pass_pingan
def hold(
    pingan: Pingan, phone: str, until: str, reason: str, actor: str, member: str | None
) -> None:
    """Pause calls to a resident until a date (inclusive)."""
    settings, now = settings_of(pingan.app), clock_of(pingan.app).now()
    try:
        last = parse_day(until)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--until") from None
    today = now.astimezone(settings.tz).date()
    if last < today:
        raise click.BadParameter(f"{last} is before today ({today})", param_hint="--until")
    with session_scope(pingan.app) as session:
        resident = find_resident(session, phone, settings.phone_region, member)
        holds.hold(session, resident, last, reason, actor, settings, now)
        click.echo(f"{resident.name} ({resident.phone}) on hold until {last}: {reason}")
