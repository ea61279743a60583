"""Nobody serves the webhooks (``pingan serve`` not running, a wrong PINGAN_PUBLIC_URL): Pingan
says so before dialing, and a call that ran without any webhook reaching us is our fault, not
the resident's (issue 17.4)."""

from __future__ import annotations

import dataclasses
import logging
import socket

from click.testing import CliRunner
from sqlalchemy import func, select

from ivr.cli import Pingan, cli
from ivr.db import session_scope
from ivr.web.server import EmbeddedServer
from ivr.worker.jobs import Jobs
from storage import CallAttempt, CheckIn, Escalation
from tests.helpers import add_resident, script

PHONE = "+8613803710101"


def run(app, *args: str):
    return CliRunner().invoke(cli, list(args), obj=Pingan(app=app))


def dead_url() -> str:
    """A loopback port nobody listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def with_public_url(app, url: str) -> None:
    settings = app.extensions["pingan.settings"]
    app.extensions["pingan.settings"] = dataclasses.replace(settings, public_url=url)


def count(app, model) -> int:
    with session_scope(app) as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_pingan_call_says_the_public_url_does_not_answer_and_calls_nobody(app, carrier) -> None:
    add_resident(app, "王秀英", PHONE)
    url = dead_url()
    with_public_url(app, url)
    result = run(app, "call", PHONE)
    assert result.exit_code != 0
    assert f"PINGAN_PUBLIC_URL {url} does not answer" in result.output
    assert "`pingan serve`" in result.output and "nobody was called" in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert carrier.calls_to(PHONE) == []
    assert count(app, CheckIn) == 0 and count(app, CallAttempt) == 0


def test_pingan_health_says_whether_the_public_url_answers(app) -> None:
    url = dead_url()
    with_public_url(app, url)
    result = run(app, "health")
    assert result.exit_code == 1
    assert "status    error" in result.output
    assert f"webhooks  PINGAN_PUBLIC_URL {url} does not answer" in result.output

    server = EmbeddedServer(app)
    try:
        with_public_url(app, server.url)
        result = run(app, "health")
    finally:
        server.close()
    assert f"webhooks  ok ({server.url} answers)" in result.output


def test_a_call_whose_webhooks_never_ran_is_retried_without_escalating_the_resident(
    app, carrier, clock, caplog
) -> None:
    caplog.set_level(logging.INFO)
    add_resident(app, "王秀英", PHONE)
    script(carrier, PHONE, "answer 1 365# 1 2 9")
    app.extensions["pingan.public_url"] = dead_url()  # the worker's URL, nobody behind it
    jobs = Jobs(app, worker="test-worker")
    jobs.start_rounds()
    settings = app.extensions["pingan.settings"]
    for _ in range(settings.max_attempts + 1):  # more calls than the resident has attempts
        jobs.dial()
        assert carrier.wait_idle(30)
        clock.advance(minutes=2)
        jobs.sweep()  # the carrier says the call ended; we heard nothing of it
        clock.advance(seconds=settings.retry_delay_s)
    assert len(carrier.calls_to(PHONE)) == settings.max_attempts + 1
    assert count(app, Escalation) == 0
    with session_scope(app) as session:
        checkin = session.scalars(select(CheckIn)).one()
        assert (checkin.status, checkin.reached) == ("pending", False)
        outcomes = set(session.scalars(select(CallAttempt.outcome)))
    assert outcomes == {"no_webhooks"}
    loud = [r for r in caplog.records if "no webhook" in r.message]
    assert loud and all(r.levelno >= logging.ERROR for r in loud)

    # The webhooks are served again: the next retry checks the resident in.
    server = EmbeddedServer(app)
    try:
        app.extensions["pingan.public_url"] = server.url
        jobs.dial()
        assert carrier.wait_idle(30)
    finally:
        server.close()
    with session_scope(app) as session:
        assert session.scalars(select(CheckIn.status)).one() == "complete"
