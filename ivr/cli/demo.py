"""``pingan demo``: the sample sub-district, one round through the simulated carrier."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

import click
from flask import Flask

from ivr.carriers.telegram.double import BotApiDouble
from ivr.cli import cli
from ivr.config import ConfigError
from ivr.db import engine
from ivr.demo import serve
from ivr.demo.run import (
    CARRIERS,
    DemoRunning,
    connect_platform,
    demo_app,
    demo_platform,
    load_sample_district,
    run_round,
)
from ivr.demo.summary import data_hint, summary, transcript
from ivr.demo.telegram import TOKEN, TelegramDemo, telegram_settings
from ivr.web.server import webhooks_reachable
from ivr.worker.jobs import Jobs


@cli.command("demo")
@click.option("--timeout", default=50.0, show_default=True, help="Seconds to let the round run.")
@click.option(
    "--serve", "serve_", is_flag=True, help="Then keep the dashboard running on the demo data."
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address for --serve.")
@click.option("--port", default=8000, show_default=True, help="Port for --serve (0: any free).")
@click.option(
    "--telegram",
    "telegram_",
    is_flag=True,
    help="One resident checks in by chat and staff acknowledge from Telegram (Bot API double).",
)
@click.option(
    "--carrier",
    type=click.Choice(CARRIERS),
    default="twilio",
    show_default=True,
    help="The simulated carrier: Twilio, or Alibaba Cloud VMS (mainland China).",
)
@click.option(
    "--transcript",
    "transcript_",
    is_flag=True,
    help="aliyun: also print one resident's call as its callbacks and replies.",
)
def demo(
    timeout: float,
    serve_: bool,
    host: str,
    port: int,
    telegram_: bool,
    carrier: str,
    transcript_: bool,
) -> None:
    """Load a sample sub-district, call everyone through the simulator, print a summary."""
    if serve_:
        _check_port(host, port)  # before the demo replaces anything
    with ExitStack() as stack:
        double = stack.enter_context(_double()) if telegram_ else None
        try:
            app = demo_app(carrier=carrier, **(telegram_settings(double) if double else {}))
        except (ConfigError, DemoRunning) as exc:
            raise click.ClickException(str(exc)) from None
        load_sample_district(app)
        with webhooks_reachable(app) as base:
            connect_platform(app, base)
            chats = TelegramDemo(app, double) if double else None
            if chats is not None:
                chats.link(base)
            seconds = run_round(app, timeout, chats.play if chats else None)
            if chats is not None:
                chats.acknowledge(Jobs(app, worker="demo"))
        platform = demo_platform(app)
        if platform is not None:
            platform.close()
        click.echo(summary(app, seconds))
        if chats is not None:
            click.echo(chats.transcript())
        if transcript_ and platform is not None:
            click.echo("\n" + transcript(app, platform))
    url = engine(app).url.render_as_string(hide_password=True)
    click.echo("\n" + data_hint(app, url))
    if serve_:
        _serve(app, host, port)


@contextmanager
def _double() -> Iterator[BotApiDouble]:
    double = BotApiDouble(TOKEN)
    try:
        yield double
    finally:
        double.close()


def _check_port(host: str, port: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise click.ClickException(f"cannot serve on {host}:{port}: {exc}") from None


def _serve(app: Flask, host: str, port: int) -> None:
    logins = serve.create_logins(app)
    try:
        server = serve.serve(app, host, port)
    except OSError as exc:
        raise click.ClickException(f"cannot serve on {host}:{port}: {exc}") from None
    click.echo("\n".join(serve.login_lines(app, server.url, logins)))
    try:
        serve.wait_for_interrupt()
    finally:
        server.close()
