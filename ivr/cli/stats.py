"""``pingan stats rollup``: count closed days' statistics again from the raw rows."""

from __future__ import annotations

import datetime as dt

import click

from ivr import clock_of, settings_of
from ivr.cli import Pingan, cli, pass_pingan
from ivr.db import session_scope
from ivr.web.dashboard.rollups import SETTLE, roll_up

day_type = click.DateTime(["%Y-%m-%d"])


@cli.group("stats")
def stats() -> None:
    """The statistics page's daily roll-ups."""


@stats.command("rollup")
@click.option("--from", "day_from", type=day_type, help="First local date; default 92 days ago.")
@click.option("--to", "day_to", type=day_type, help="Last local date; default yesterday.")
@pass_pingan
def rollup(pingan: Pingan, day_from: dt.datetime | None, day_to: dt.datetime | None) -> None:
    """Roll up each closed day of the range again (a backfill after an upgrade, a repair).

    Safe to run at any time and any number of times: each day is counted from the raw rows
    and replaces what was stored. Today (not closed yet) is always counted live instead."""
    app = pingan.app
    settings = settings_of(app)
    now = clock_of(app).now()
    closed = (now - SETTLE).astimezone(settings.tz).date() - dt.timedelta(days=1)
    last = min(day_to.date(), closed) if day_to else closed
    first = day_from.date() if day_from else last - dt.timedelta(days=91)
    day, count = first, 0
    while day <= last:
        with session_scope(app) as session:
            roll_up(session, day, settings.tz, settings.fever_c, now)
        day, count = day + dt.timedelta(days=1), count + 1
    click.echo(f"rolled up {count} days, {first} to {last}")
