"""``pingan simulator serve``: a simulated carrier as a local server the real SDK talks to.

``--carrier twilio`` (the default) serves Twilio's REST API: point a Pingan instance at it with
``PINGAN_CARRIER=twilio`` and ``PINGAN_TWILIO_API_BASE=http://127.0.0.1:8900``; the real
``TwilioCarrier`` (the official SDK) then places calls that the simulator plays against the
webhooks, signed with the same token. Like Twilio it refuses +86 numbers (``--china-vetted``
plays an account Twilio vetted for China before 30 November 2023) and caller IDs other than
``--caller-id``.

``--carrier aliyun`` serves Alibaba Cloud VMS's API on ``--port`` and its 短信服务 (SMS) API on
``--sms-port`` (default the next port): point Pingan at them with ``PINGAN_CARRIER=aliyun``,
``PINGAN_ALIYUN_ENDPOINT`` and ``PINGAN_ALIYUN_SMS_ENDPOINT``. The SMS account has the signature
``PINGAN_ALIYUN_SMS_SIGN_NAME`` and Pingan's templates approved under the codes
``PINGAN_ALIYUN_SMS_TEMPLATE_*`` (the sample codes where one is not set), so the settings of a
real deployment work unchanged. VMS posts its callbacks and receipts, SMS its delivery reports,
to the URLs the consoles would hold,
``<PINGAN_PUBLIC_URL>/aliyun/<PINGAN_ALIYUN_CALLBACK_SECRET>/{callback,receipt,sms-report}``;
``--unreachable PHONE`` is a staff phone switched off (its texts are reported undelivered).
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import click

from ivr.carriers.aliyun.simulator import AliyunSimulator
from ivr.carriers.aliyun.sms_simulator import SAMPLE_CODES, AliyunSmsSimulator
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
    "--sms-port",
    type=int,
    help="aliyun: the port of the SMS API (default --port + 1).",
)
@click.option(
    "--sign-name",
    envvar="PINGAN_ALIYUN_SMS_SIGN_NAME",
    default="平安",
    show_default=True,
    help="aliyun: the approved SMS signature (default $PINGAN_ALIYUN_SMS_SIGN_NAME).",
)
@click.option(
    "--unreachable",
    multiple=True,
    metavar="PHONE",
    help="aliyun: a phone whose texts are reported undelivered (repeatable).",
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
    sms_port: int | None,
    sign_name: str,
    unreachable: tuple[str, ...],
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
            account = Account(access_key_id, access_key_secret, sign_name, unreachable)
            script, close = _serve_aliyun(
                account, host, port, sms_port, caller_ids, callback_base, default, max_calls
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


@dataclass(frozen=True)
class Account:
    """The Alibaba Cloud account the simulator plays: its AccessKey and its SMS side."""

    key_id: str | None
    key_secret: str | None
    sign_name: str
    unreachable: tuple[str, ...]


def _serve_aliyun(
    account: Account,
    host: str,
    port: int,
    sms_port: int | None,
    caller_ids: tuple[str, ...],
    callback_base: str | None,
    default: str,
    max_calls: int,
) -> tuple[Script, Callable[[], None]]:
    key_id, key_secret = account.key_id, account.key_secret
    if not key_id or not key_secret:
        raise click.UsageError("--carrier aliyun needs --access-key-id and --access-key-secret")
    base = callback_base or _console_urls()
    platform = AliyunSimulator(
        key_id,
        key_secret,
        caller_ids[0],
        host=host,
        port=port,
        default_behaviour=Behaviour.parse(default),
        max_calls=max_calls,
    )
    platform.callback_url, platform.receipt_url = f"{base}/callback", f"{base}/receipt"
    try:
        texts = AliyunSmsSimulator(
            key_id,
            key_secret,
            account.sign_name,
            _template_codes(),
            host=host,
            port=port + 1 if sms_port is None and port else sms_port or 0,
        )
    except OSError:
        platform.close()
        raise
    texts.report_url = f"{base}/sms-report"
    texts.unreachable.update(account.unreachable)
    click.echo(
        f"Simulated Alibaba Cloud VMS API at {platform.url} and SMS API at {texts.url} "
        f"(AccessKey {key_id}, number {platform.shown_number}, signature "
        f"{account.sign_name}); callbacks and reports to {base}/…; Ctrl-C stops it."
    )

    def close() -> None:
        texts.close()
        platform.close()

    return platform.script, close


def _template_codes() -> dict[str, str]:
    """The approved codes: a deployment's ``PINGAN_ALIYUN_SMS_TEMPLATE_*``, else the samples."""
    return {
        kind: os.environ.get(f"PINGAN_ALIYUN_SMS_TEMPLATE_{kind.upper()}") or sample
        for kind, sample in SAMPLE_CODES.items()
    }


def _console_urls() -> str:
    public = os.environ.get("PINGAN_PUBLIC_URL", "").rstrip("/")
    secret = os.environ.get("PINGAN_ALIYUN_CALLBACK_SECRET", "")
    if not public or not secret:
        raise click.UsageError(
            "--carrier aliyun needs --callback-base, or PINGAN_PUBLIC_URL and "
            "PINGAN_ALIYUN_CALLBACK_SECRET"
        )
    return f"{public}/aliyun/{secret}"
