"""``pingan notices``: community notices read to residents in their calls."""

from __future__ import annotations

import datetime as dt
from typing import BinaryIO

import click
from sqlalchemy import select
from sqlalchemy.orm import Session

from ivr import clock_of, settings_of
from ivr.cli import Pingan, cli, emit_json, pass_pingan
from ivr.cli.staff import staff_ref
from ivr.db import session_scope
from ivr.domain import notice_recordings, notices
from ivr.domain.escalations import LifecycleError
from ivr.domain.staff import SUPERVISING
from ivr.tables import format_table
from storage import Community, Notice

day_type = click.DateTime(["%Y-%m-%d"])
EVERY_COMMUNITY = "all"


@cli.group("notices", invoke_without_command=True)
@click.option("--community", help="Only the notices this community hears.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
@click.pass_context
def notices_(ctx: click.Context, community: str | None, as_json: bool) -> None:
    """Notices not yet over (subcommands add and remove them)."""
    if ctx.invoked_subcommand is not None:
        return
    app = ctx.ensure_object(Pingan).app
    today = clock_of(app).now().astimezone(settings_of(app).tz).date()
    with session_scope(app) as session:
        rows = notices.rows(session, today, community)
    if as_json:
        emit_json(rows)
        return
    headers = ["id", "community", "from", "until", "text", "recording"]
    cells = [[r[h] or ("*" if h == "community" else "-") for h in headers] for r in rows]
    click.echo(format_table(headers, cells))


@notices_.command("add")
@click.argument("community")
@click.option("--text", required=True, help="What is read to every resident of the community.")
@click.option("--until", required=True, type=day_type, help="Last local day it is read.")
@click.option("--from", "starts", type=day_type, help="First local day; default today.")
@click.option("--by", help="Staff phone or name (a supervisor for 'all').")
@click.option(
    "--recording",
    type=click.File("rb"),
    help="An MP3 or WAV of the notice read aloud, played instead of TTS (Twilio calls).",
)
@pass_pingan
def add(
    pingan: Pingan,
    community: str,
    text: str,
    until: dt.datetime,
    starts: dt.datetime | None,
    by: str | None,
    recording: BinaryIO | None,
) -> None:
    """Add a notice for COMMUNITY (or 'all' communities) from today (or --from) to --until."""
    app = pingan.app
    now = clock_of(app).now()
    first = starts.date() if starts else now.astimezone(settings_of(app).tz).date()
    with session_scope(app) as session:
        community_id = _community_id(session, community)
        actor = "cli"
        if by is not None:
            region = settings_of(app).phone_region
            staff = staff_ref(session, by, region, acting_for=community_id)
            if community_id is None and staff.role not in SUPERVISING:
                raise click.ClickException(f"{staff.name} may not write to every community")
            actor = staff.name
        try:
            notice = notices.add(session, community_id, text, first, until.date(), actor, now)
            if recording is not None:
                notice_recordings.attach(settings_of(app), notice, recording.read())
        except LifecycleError as exc:
            raise click.ClickException(str(exc)) from None
        how = "played from its recording" if notice.recording else "read"
        click.echo(f"notice {notice.id}: {how} from {first} to {until.date()} in {community}")


@notices_.command("record")
@click.argument("notice_id", type=int)
@click.argument("recording", type=click.File("rb"))
@pass_pingan
def record(pingan: Pingan, notice_id: int, recording: BinaryIO) -> None:
    """Play RECORDING (MP3 or WAV) instead of reading notice NOTICE_ID's text."""
    app = pingan.app
    with session_scope(app) as session:
        notice = session.get(Notice, notice_id)
        if notice is None or notice.removed_at is not None:
            raise click.ClickException(f"no notice {notice_id}")
        try:
            name = notice_recordings.attach(settings_of(app), notice, recording.read())
        except LifecycleError as exc:
            raise click.ClickException(str(exc)) from None
    click.echo(f"notice {notice_id}: calls play {name}")


@notices_.command("remove")
@click.argument("notice_id", type=int)
@pass_pingan
def remove(pingan: Pingan, notice_id: int) -> None:
    """Stop reading a notice."""
    app = pingan.app
    with session_scope(app) as session:
        try:
            notices.remove(session, notice_id, "cli", clock_of(app).now())
        except LifecycleError as exc:
            raise click.ClickException(str(exc)) from None
    click.echo(f"notice {notice_id} removed")


def _community_id(session: Session, name: str) -> int | None:
    if name == EVERY_COMMUNITY:
        return None
    found = session.scalar(select(Community.id).where(Community.name == name))
    if found is None:
        raise click.ClickException(f"no community {name!r}")
    return int(found)
