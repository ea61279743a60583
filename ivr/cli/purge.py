"""``pingan purge --older-than 90d``: remove the personal data of residents released long ago."""

from __future__ import annotations

import datetime as dt

import click

from ivr import clock_of
from ivr.cli import Pingan, cli, pass_pingan
from ivr.config import parse_duration
from ivr.db import sessions
from ivr.domain.purge import purge_released


class Age(click.ParamType[int]):
    name = "age"

    def convert(self, value: str, param: click.Parameter | None, ctx: click.Context | None) -> int:
        try:
            seconds = parse_duration(value)
        except ValueError as exc:
            self.fail(str(exc), param, ctx)
        if seconds < 86400:
            self.fail("must be at least one day (e.g. 90d)", param, ctx)
        return seconds


@cli.command("purge")
@click.option(
    "--older-than",
    "older_than",
    type=Age(),
    required=True,
    help="Purge residents released longer ago than this (e.g. 90d).",
)
@click.option("--dry-run", is_flag=True, help="Only count who would be purged.")
@click.option("--by", "actor", default="cli", help="Who purges (for the audit trail).")
@pass_pingan
def purge(pingan: Pingan, older_than: int, dry_run: bool, actor: str) -> None:
    """Remove names, numbers and notes of long-released residents; statistics stay."""
    now = clock_of(pingan.app).now()
    cutoff = now - dt.timedelta(seconds=older_than)
    with sessions(pingan.app)() as session:
        result = purge_released(session, cutoff, now, actor)
        if dry_run:
            session.rollback()
        else:
            session.commit()
    verb = "would be purged" if dry_run else "purged"
    click.echo(
        f"{result.residents} residents released before {cutoff.date().isoformat()} {verb}: "
        f"{result.calls} calls, {result.escalations} escalations and {result.notifications} "
        "notifications anonymised; check-ins, temperatures and answers kept."
    )
