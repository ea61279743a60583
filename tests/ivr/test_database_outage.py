"""PostgreSQL goes away for 10 s while residents are on the line, then comes back.

The app reaches the database through a TCP proxy the test pauses (every connection cut, new
ones left hanging) and resumes. The simulated carrier drives real calls over HTTP: whoever
speaks during the outage hears the apology instead of Twilio's "application error", nothing
stored before is lost, and when the database is back the sweeper learns from the carrier how
the calls ended and the check-ins are called again until they complete.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.engine import make_url

from ivr import create_app
from ivr.carriers.simulator import SimulatedCarrier
from ivr.carriers.telephony import OutboundCall, TextMessage
from ivr.clock import FixedClock
from ivr.db import engine as engine_of
from ivr.db import session_scope
from ivr.domain.rounds import start_manual_round
from ivr.web.server import webhooks_reachable
from ivr.worker.jobs import Jobs
from storage import Answer, CallAttempt, CheckIn, Community, Resident
from tests.conftest import AUTH_TOKEN
from tests.helpers import add_resident, run_until_settled, script
from tests.processes import fresh_postgres
from tests.tcp_proxy import TcpProxy

OUTAGE_S = 10
APOLOGY = "对不起，系统暂时出了问题。我们稍后会再给您打电话。再见。"
EARLY, CUT, SLOW = "+8613803710101", "+8613803710102", "+8613803710103"


@pytest.fixture
def proxy() -> Iterator[tuple[TcpProxy, str]]:
    """A PostgreSQL database reached through a proxy; yields the proxy and the app's URL."""
    with fresh_postgres() as url:
        real = make_url(url)
        with TcpProxy(real.host or "127.0.0.1", real.port or 5432) as tcp:
            # A short connect timeout: each webhook gives up on the hung server in 2 s.
            via = real.set(host="127.0.0.1", port=tcp.port, query={"connect_timeout": "2"})
            yield tcp, via.render_as_string(hide_password=False)


@pytest.fixture
def app(
    proxy: tuple[TcpProxy, str], tmp_path: Path, clock: FixedClock, carrier: SimulatedCarrier
) -> Iterator[Flask]:
    overrides = {
        "database_url": proxy[1],
        "instance_path": str(tmp_path / "instance"),
        "twilio_auth_token": AUTH_TOKEN,
        "carrier": "simulator",
        "public_url": None,
        "secret_key": "test-secret",
    }
    application = create_app(overrides, clock=clock, carrier=carrier, environ={})
    with webhooks_reachable(application):
        yield application
    engine_of(application).dispose()


class OutageWhen:
    """WSGI middleware: the first request matching ``trigger`` starts the outage, which ends
    ``OUTAGE_S`` later. The request itself then meets the outage, as the next ones will."""

    def __init__(self, app: Flask, proxy: TcpProxy, trigger: Callable[[dict], bool]) -> None:
        self.wsgi_app = app.wsgi_app
        self.proxy, self.trigger = proxy, trigger
        self.over = threading.Event()
        self._started = False
        app.wsgi_app = self  # type: ignore[method-assign]

    def __call__(self, environ: dict, start_response: Any) -> Any:
        if not self._started and self.trigger(environ):
            self._started = True
            self.proxy.pause()
            threading.Timer(OUTAGE_S, self._end).start()
        return self.wsgi_app(environ, start_response)

    def _end(self) -> None:
        self.proxy.resume()
        self.over.set()


def start_round_for(app: Flask, clock: FixedClock, phones: list[str]) -> None:
    with session_scope(app) as session:
        community = session.scalars(select(Community)).one()
        only = list(session.scalars(select(Resident.id).where(Resident.phone.in_(phones))))
        start_manual_round(
            session, community, app.extensions["pingan.settings"], clock.now(), only=only
        )


def answers_of(app: Flask, phone: str) -> list[tuple[int, str, Any]]:
    with session_scope(app) as session:
        query = (
            select(Answer.id, Answer.key, Answer.value)
            .join(Resident)
            .where(Resident.phone == phone)
        )
        return [tuple(row) for row in session.execute(query.order_by(Answer.id))]


def status_of(app: Flask, phone: str) -> tuple[str, int]:
    with session_scope(app) as session:
        checkin = session.scalars(
            select(CheckIn).join(Resident).where(Resident.phone == phone).order_by(CheckIn.id)
        ).all()[-1]
        return checkin.status, checkin.attempts


@pytest.mark.slow
def test_a_10_s_database_outage_mid_call_apologises_keeps_answers_and_calls_again(
    app, proxy, carrier, clock, caplog
) -> None:
    caplog.set_level(logging.INFO)
    tcp, _ = proxy
    jobs = Jobs(app, worker="outage-test")
    for name, phone in (("早打的", EARLY), ("被打断的", CUT), ("说得慢的", SLOW)):
        add_resident(app, name, phone)
    # Before the outage: one whole check-in, stored for good.
    script(carrier, EARLY, "answer 1 365# 1 2 9")
    start_round_for(app, clock, [EARLY])
    jobs.dial()
    assert carrier.wait_idle(30)
    before = answers_of(app, EARLY)
    assert status_of(app, EARLY) == ("complete", 1)

    # The outage begins as CUT answers the symptoms question (temperature already stored);
    # SLOW is mid-call too, keying slowly (real seconds at each question).
    script(carrier, CUT, "answer 1 372# 1 2 9", "answer 1 372# 1 2 9")
    script(carrier, SLOW, "answer 1 366# 1 2 9 think=3", "answer 1 366# 1 2 9")
    # (turn 4: the greeting, the temperature's first key, the rest of it, the read-back)
    outage = OutageWhen(app, tcp, lambda env: env.get("QUERY_STRING") == "t=4")
    clock.advance(1)  # a round of its own (manual rounds are named by the second)
    start_round_for(app, clock, [CUT, SLOW])
    jobs.dial()
    assert outage.over.wait(OUTAGE_S + 20) and carrier.wait_idle(60)

    # Every webhook answered: an apology in Mandarin, never an HTTP error the carrier would
    # turn into its own English message.
    cut_off = [r for r in carrier.records.values() if r.to in (CUT, SLOW)]
    assert all(APOLOGY in [h.text for h in r.heard] for r in cut_off)
    assert all(not r.errors for r in cut_off), [r.errors for r in cut_off]
    lost = [w for r in cut_off for w in r.warnings if "status callback" in w]
    assert lost and all("HTTP 503" in w or "failed" in w for w in lost)
    outage_lines = [r for r in caplog.records if "database unavailable during" in r.message]
    assert outage_lines and all(r.levelno == logging.WARNING for r in outage_lines)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]

    # The database is back: what was stored before the outage is all there, and the calls
    # whose end we never heard are looked up at the carrier once they have been quiet.
    assert answers_of(app, EARLY) == before
    temperature_before = [a for a in answers_of(app, CUT) if a[1] == "temperature_c"]
    assert temperature_before  # keyed before the outage
    clock.advance(minutes=2)
    jobs.sweep()
    run_until_settled(jobs, carrier, clock)
    assert status_of(app, EARLY) == ("complete", 1)
    assert status_of(app, CUT) == ("complete", 2)  # called again, as the apology promised
    assert status_of(app, SLOW) == ("complete", 2)
    assert temperature_before[0] in answers_of(app, CUT)  # the row keyed before the outage
    with session_scope(app) as session:
        states = session.execute(select(CallAttempt.state, CallAttempt.status)).all()
    assert set(states) == {("ended", "completed")}


class PausingCarrier:
    """The carrier accepts the call, and just then the database goes away for a while."""

    name = "simulator"

    def __init__(self, inner: SimulatedCarrier, proxy: TcpProxy, seconds: float) -> None:
        self.inner, self.proxy, self.seconds = inner, proxy, seconds

    def place_call(self, call: OutboundCall) -> str:
        sid = self.inner.place_call(call)
        self.proxy.pause(refuse=True)
        threading.Timer(self.seconds, self.proxy.resume).start()
        return sid

    def fetch_call(self, sid: str) -> Any:
        return self.inner.fetch_call(sid)

    def send_sms(self, to: str, from_: str, text: TextMessage) -> str:
        return self.inner.send_sms(to, from_, text)


@pytest.mark.slow
def test_a_call_placed_just_before_the_database_went_away_is_still_recorded(
    app, proxy, carrier, clock, caplog
) -> None:
    tcp, _ = proxy
    add_resident(app, "王秀英", EARLY)
    script(carrier, EARLY, "busy")  # its callbacks meet the outage; the dialer must not
    jobs = Jobs(app, worker="outage-test")
    jobs.dialer.carrier = PausingCarrier(carrier, tcp, seconds=3)
    start_round_for(app, clock, [EARLY])
    jobs.run("dial")  # places the call, then retries storing it until the database is back
    with session_scope(app) as session:
        attempt = session.scalars(select(CallAttempt)).one()
    assert attempt.call_sid == next(iter(carrier.records)) and attempt.state == "placed"
    assert any("retrying" in r.message for r in caplog.records)


def test_the_worker_skips_its_jobs_while_the_database_is_down(app, proxy, caplog) -> None:
    tcp, _ = proxy
    jobs = Jobs(app, worker="outage-test")
    tcp.pause(refuse=True)
    try:
        for name in ("start_rounds", "dial", "sweep", "check_sla", "send_alerts", "heartbeat"):
            jobs.run(name)  # no exception escapes to the scheduler
    finally:
        tcp.resume()
    skipped = [r for r in caplog.records if "skipped: the database is unavailable" in r.message]
    assert len(skipped) == 6 and jobs.last_ok == {}
    jobs.run("heartbeat")
    assert set(jobs.last_ok) == {"heartbeat"}
