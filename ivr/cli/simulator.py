"""``pingan simulator serve``: the simulated carrier as a Twilio-compatible REST server.

Point a Pingan instance at it with ``PINGAN_CARRIER=twilio`` and
``PINGAN_TWILIO_API_BASE=http://127.0.0.1:8900``: the real ``TwilioCarrier`` (the official SDK)
then places calls that the simulator plays against the webhooks, signed with the same token.
"""

from __future__ import annotations

import signal
import threading
from typing import Any

import click

from ivr.cli import cli
from ivr.simulator import Behaviour, SimulatedCarrier, serve_rest


@cli.group("simulator")
def simulator() -> None:
    """The simulated carrier."""


@simulator.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8900, show_default=True, type=int)
@click.option(
    "--account-sid",
    envvar="TWILIO_ACCOUNT_SID",
    required=True,
    help="Account SID the REST clients must use (default $TWILIO_ACCOUNT_SID).",
)
@click.option(
    "--auth-token",
    envvar="TWILIO_AUTH_TOKEN",
    required=True,
    help="Auth token: checks REST clients, signs webhooks (default $TWILIO_AUTH_TOKEN).",
)
@click.option(
    "--script",
    "scripts",
    multiple=True,
    metavar="PHONE=BEHAVIOUR",
    help='What a number does, e.g. "+8613803710101=answer 1 365# 1 2 9" (repeatable).',
)
@click.option(
    "--default",
    "default",
    default="answer 1 365# 1 2 9",
    show_default=True,
    help="What every other number does.",
)
@click.option(
    "--max-calls",
    default=64,
    show_default=True,
    type=int,
    help="Calls the simulator plays at the same time.",
)
@click.option(
    "--scripts-file",
    type=click.Path(exists=True, dir_okay=False),
    help="A file of PHONE=BEHAVIOUR lines (for many numbers).",
)
def serve(
    host: str,
    port: int,
    account_sid: str,
    auth_token: str,
    scripts: tuple[str, ...],
    default: str,
    max_calls: int,
    scripts_file: str | None,
) -> None:
    """Serve Twilio's Calls and Messages API locally until stopped (Ctrl-C)."""
    try:
        carrier = SimulatedCarrier(
            auth_token, account_sid, default_behaviour=default, max_workers=max_calls
        )
        if scripts_file:
            with open(scripts_file, encoding="utf-8") as lines:
                scripts += tuple(line.strip() for line in lines if line.strip())
        for entry in scripts:
            phone, sep, spec = entry.partition("=")
            if not sep:
                raise click.BadParameter(f"{entry!r} is not PHONE=BEHAVIOUR", param_hint="--script")
            carrier.script(phone.strip(), Behaviour.parse(spec))
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    server, url = serve_rest(carrier, host, port)
    click.echo(f"Simulated Twilio REST API at {url} (account {account_sid}); Ctrl-C stops it.")
    stopped = threading.Event()

    def _stop(_signum: int, _frame: Any) -> None:
        stopped.set()

    signal.signal(signal.SIGTERM, _stop)
    try:
        stopped.wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
        carrier.close()
