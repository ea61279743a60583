"""``pingan health``: database, carrier, dialing halt, scheduler and workers; exit 1 unless ok."""

from __future__ import annotations

import sys

import click

from ivr.cli import Pingan, cli, emit_json, pass_pingan
from ivr.domain.health import health_report

LINES = (
    "status",
    "database",
    "carrier",
    "account",
    "webhooks",
    "dialing",
    "scheduler",
    "workers",
    "on_duty",
    "alerts",
    "reach",
)


@cli.command("health")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@pass_pingan
def health(pingan: Pingan, as_json: bool) -> None:
    """Check the database, the carrier, dialing and the workers."""
    report = health_report(pingan.app, probe_webhooks=True)
    if as_json:
        emit_json(report)
    else:
        for key in LINES:
            if key in report:
                value = report[key]
                shown = ", ".join(value) or "none running" if isinstance(value, list) else value
                click.echo(f"{key.replace('_', ' '):9} {shown}")
    if report["status"] != "ok":
        sys.exit(1)
