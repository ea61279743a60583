"""``pingan round start`` and ``pingan round status``."""

from __future__ import annotations

import time

import click
from sqlalchemy import select

from ivr import clock_of, settings_of
from ivr.cli import Pingan, cli, emit_json, pass_pingan
from ivr.db import session_scope
from ivr.domain.progress import PHASES, round_progress
from ivr.domain.rounds import running_round, start_manual_round
from ivr.domain.schedule import schedule_for
from ivr.tables import format_table
from storage import Community


@cli.group("round")
def round_() -> None:
    """Calling rounds."""


@round_.command("start")
@click.option("--community", help="Only this community (default: all).")
@click.option(
    "--force",
    is_flag=True,
    help="Even while a round is running: call now only the residents it has not reached.",
)
@pass_pingan
def start(pingan: Pingan, community: str | None, force: bool) -> None:
    """Start a round now; the worker (or `pingan demo`) places the calls.

    While a round of the community is still running this refuses (everyone would be called
    twice); --force calls only the residents not yet reached, none with a call in flight.
    """
    app = pingan.app
    settings, now = settings_of(app), clock_of(app).now()
    with session_scope(app) as session:
        query = select(Community).order_by(Community.name)
        if community:
            query = query.where(Community.name == community)
        found = list(session.scalars(query))
        if not found:
            raise click.ClickException(
                f"no community named {community!r}"
                if community
                else "no communities yet: import residents first"
            )
        refused = False
        for item in found:
            if not schedule_for(item, settings).in_window(now):
                click.echo(f"{item.name}: outside the calling window; not started")
                continue
            running = running_round(session, item)
            if running is not None and not force:
                click.echo(running.sentence(item.name), err=True)
                refused = True
                continue
            started = start_manual_round(
                session, item, settings, now, unreached_only=running is not None
            )
            if started is None:
                click.echo(f"{item.name}: a round was started this very second; not repeated")
            else:
                click.echo(
                    f"{item.name}: round {started.round.slot} started, "
                    f"{started.checkins} residents to call"
                )
    if refused:
        raise click.exceptions.Exit(1)


@round_.command("status")
@click.option("--watch", is_flag=True, help="Refresh every 2 s until today's rounds are done.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
@pass_pingan
def status(pingan: Pingan, watch: bool, as_json: bool) -> None:
    """Today's rounds per community, with a progress bar."""
    app = pingan.app
    while True:
        today = clock_of(app).now().astimezone(settings_of(app).tz).date()
        with session_scope(app) as session:
            rows = round_progress(session, today)
        if as_json:
            emit_json(
                [
                    {
                        "community": r.community,
                        "slot": r.slot,
                        "date": r.local_date,
                        "closed": r.closed,
                        **{p: r.counts[p] for p in PHASES},
                    }
                    for r in rows
                ]
            )
            return
        click.echo(
            format_table(
                ["community", "round", "progress", *PHASES],
                [
                    [
                        r.community,
                        r.slot,
                        f"{r.bar()} {r.done}/{r.total}",
                        *(r.counts[p] for p in PHASES),
                    ]
                    for r in rows
                ],
            )
            if rows
            else f"No rounds today ({today})."
        )
        if not watch or all(r.done == r.total for r in rows):
            return
        time.sleep(2)
        click.echo()
