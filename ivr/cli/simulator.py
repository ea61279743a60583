"""``pingan simulator serve``: a simulated carrier as a local server the real SDK talks to.

``--carrier twilio`` (the default) serves Twilio's REST API: point a Pingan instance at it with
``PINGAN_CARRIER=twilio`` and ``PINGAN_TWILIO_API_BASE=http://127.0.0.1:8900``; the real
``TwilioCarrier`` (the official SDK) then places calls that the simulator plays against the
webhooks, signed with the same token. Like Twilio it refuses +86 numbers (``--china-vetted``
plays an account Twilio vetted for China before 30 November 2023) and caller IDs other than
``--caller-id``.

``--carrier aliyun`` serves Alibaba Cloud VMS's API: point Pingan at it with
``PINGAN_CARRIER=aliyun`` and ``PINGAN_ALIYUN_ENDPOINT``; it posts its callbacks and receipts to
the URLs the console would hold, ``<PINGAN_PUBLIC_URL>/aliyun/<PINGAN_ALIYUN_CALLBACK_SECRET>/…``.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable
from typing import Any

import click

from ivr.carriers.aliyun.simulator import AliyunSimulator
from ivr.carriers.simulator import Behaviour, SimulatedCarrier, serve_rest
from ivr.cli import cli
from ivr.config import SETTINGS

DEFAULT_CALLER_ID = next(s.default for s in SETTINGS if s.env == "PINGAN_CALLER_ID")


@cli.group("simulator")
def simulator() -> None:
    """The simulated carrier."""


@simulator.command("serve")
@click.option(
    "--carrier",
    type=click.Choice(["twilio", "aliyun"]),
    default="twilio",
    show_default=True,
    help="Which carrier to play.",
)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8900, show_default=True, type=int)
@click.option(
    "--account-sid",
    envvar="TWILIO_ACCOUNT_SID",
    help="twilio: Account SID the REST clients must use (default $TWILIO_ACCOUNT_SID).",
)
@click.option(
    "--auth-token",
    envvar="TWILIO_AUTH_TOKEN",
    help="twilio: checks REST clients, signs webhooks (default $TWILIO_AUTH_TOKEN).",
)
@click.option(
    "--caller-id",
    "caller_ids",
    multiple=True,
    envvar="PINGAN_CALLER_ID",
    default=[DEFAULT_CALLER_ID],
    show_default=True,
    help="A number the account owns (repeatable; default $PINGAN_CALLER_ID).",
)
@click.option(
    "--china-vetted",
    is_flag=True,
    help="twilio: an account vetted for calls to mainland China (Twilio ended them in 2023).",
)
@click.option(
    "--access-key-id",
    envvar="ALIBABA_CLOUD_ACCESS_KEY_ID",
    help="aliyun: the AccessKey the SDK must sign with (default $ALIBABA_CLOUD_ACCESS_KEY_ID).",
)
@click.option(
    "--access-key-secret",
    envvar="ALIBABA_CLOUD_ACCESS_KEY_SECRET",
    help="aliyun: its secret (default $ALIBABA_CLOUD_ACCESS_KEY_SECRET).",
)
@click.option(
    "--callback-base",
    help="aliyun: where callbacks and receipts go, the console's URLs without /callback "
    "(default $PINGAN_PUBLIC_URL/aliyun/$PINGAN_ALIYUN_CALLBACK_SECRET).",
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
    carrier: str,
    host: str,
    port: int,
    account_sid: str | None,
    auth_token: str | None,
    caller_ids: tuple[str, ...],
    china_vetted: bool,
    access_key_id: str | None,
    access_key_secret: str | None,
    callback_base: str | None,
    scripts: tuple[str, ...],
    default: str,
    max_calls: int,
    scripts_file: str | None,
) -> None:
    """Serve a carrier's API locally until stopped (Ctrl-C)."""
    if scripts_file:
        with open(scripts_file, encoding="utf-8") as lines:
            scripts += tuple(line.strip() for line in lines if line.strip())
    try:
        if carrier == "aliyun":
            script, close = _serve_aliyun(
                host, port, access_key_id, access_key_secret, caller_ids, callback_base, default
            )
        else:
            script, close = _serve_twilio(
                host, port, account_sid, auth_token, caller_ids, china_vetted, default, max_calls
            )
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    try:
        for entry in scripts:
            phone, sep, spec = entry.partition("=")
            if not sep:
                raise click.BadParameter(f"{entry!r} is not PHONE=BEHAVIOUR", param_hint="--script")
            script(phone.strip(), Behaviour.parse(spec))
    except (ValueError, click.BadParameter) as exc:
        close()
        if isinstance(exc, click.BadParameter):
            raise
        raise click.ClickException(str(exc)) from None
    stopped = threading.Event()

    def _stop(_signum: int, _frame: Any) -> None:
        stopped.set()

    signal.signal(signal.SIGTERM, _stop)
    try:
        stopped.wait()
    except KeyboardInterrupt:
        pass
    finally:
        close()


Script = Callable[[str, Behaviour], None]


def _serve_twilio(
    host: str,
    port: int,
    account_sid: str | None,
    auth_token: str | None,
    caller_ids: tuple[str, ...],
    china_vetted: bool,
    default: str,
    max_calls: int,
) -> tuple[Script, Callable[[], None]]:
    if not account_sid or not auth_token:
        raise click.UsageError("--carrier twilio needs --account-sid and --auth-token")
    carrier = SimulatedCarrier(
        auth_token,
        account_sid,
        default_behaviour=default,
        max_workers=max_calls,
        owned_numbers=caller_ids,
        china_vetted=china_vetted,
    )
    server, url = serve_rest(carrier, host, port)
    click.echo(f"Simulated Twilio REST API at {url} (account {account_sid}); Ctrl-C stops it.")

    def close() -> None:
        server.stop()
        carrier.close()

    return carrier.script, close


def _serve_aliyun(
    host: str,
    port: int,
    access_key_id: str | None,
    access_key_secret: str | None,
    caller_ids: tuple[str, ...],
    callback_base: str | None,
    default: str,
) -> tuple[Script, Callable[[], None]]:
    if not access_key_id or not access_key_secret:
        raise click.UsageError("--carrier aliyun needs --access-key-id and --access-key-secret")
    base = callback_base or _console_urls()
    platform = AliyunSimulator(
        access_key_id,
        access_key_secret,
        caller_ids[0],
        host=host,
        port=port,
        default_behaviour=Behaviour.parse(default),
    )
    platform.callback_url, platform.receipt_url = f"{base}/callback", f"{base}/receipt"
    click.echo(
        f"Simulated Alibaba Cloud VMS API at {platform.url} (AccessKey {access_key_id}, "
        f"number {platform.shown_number}); callbacks to {base}/…; Ctrl-C stops it."
    )
    return platform.script, platform.close


def _console_urls() -> str:
    public = os.environ.get("PINGAN_PUBLIC_URL", "").rstrip("/")
    secret = os.environ.get("PINGAN_ALIYUN_CALLBACK_SECRET", "")
    if not public or not secret:
        raise click.UsageError(
            "--carrier aliyun needs --callback-base, or PINGAN_PUBLIC_URL and "
            "PINGAN_ALIYUN_CALLBACK_SECRET"
        )
    return f"{public}/aliyun/{secret}"
