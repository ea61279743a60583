"""``pingan demo``: the sample sub-district, one round through the simulated carrier."""

from __future__ import annotations

import click

from ivr.cli import cli
from ivr.config import ConfigError
from ivr.demo.run import demo_app, load_sample_district, run_round
from ivr.demo.summary import summary
from ivr.server import webhooks_reachable


@cli.command("demo")
@click.option("--timeout", default=50.0, show_default=True, help="Seconds to let the round run.")
def demo(timeout: float) -> None:
    """Load a sample sub-district, call everyone through the simulator, print a summary."""
    try:
        app = demo_app()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    load_sample_district(app)
    with webhooks_reachable(app):
        seconds = run_round(app, timeout)
    click.echo(summary(app, seconds))
