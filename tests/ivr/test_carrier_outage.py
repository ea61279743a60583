"""The carrier's REST API misbehaves for a while: errors, rate limits, requests that hang.

The app's real Twilio adapter (the official SDK, with a short client timeout) talks to the
simulated carrier's REST server through a gateway that fails the create-call requests of a
plan, then recovers. Every refused attempt is retried with backoff and none is lost; a request
that timed out although the carrier created the call late is not placed a second time.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select

from ivr import create_app
from ivr.carriers.simulator import SimulatedCarrier, serve_rest
from ivr.carriers.telephony import TwilioCarrier
from ivr.db import engine as engine_of
from ivr.db import session_scope
from ivr.web.server import EmbeddedServer
from ivr.worker.jobs import Jobs
from storage import CallAttempt, CheckIn
from tests.conftest import AUTH_TOKEN
from tests.helpers import add_resident
from tests.http_faults import FaultyGateway
from tests.processes import free_port

ACCOUNT_SID = "AC" + "7" * 32
RESIDENTS = [f"+861380371020{n}" for n in range(6)]
CLIENT_TIMEOUT_S = 1.0
# Three timeouts (the carrier creates one call late, and one reply is lost), then errors and
# rate limits for a while.
PLAN = [
    "late",
    "lost-reply",
    "drop",
    "503",
    "429",
    "500",
    "503",
    "429",
    "429",
    "503",
    "503",
    "500",
    "429",
]


@pytest.fixture
def simulated() -> Iterator[SimulatedCarrier]:
    carrier = SimulatedCarrier(AUTH_TOKEN, ACCOUNT_SID, china_vetted=True)
    yield carrier
    carrier.close()


@pytest.fixture
def gateway(simulated: SimulatedCarrier) -> Iterator[FaultyGateway]:
    server, url = serve_rest(simulated)
    faulty = FaultyGateway(url, PLAN, hold_s=2 * CLIENT_TIMEOUT_S)
    yield faulty
    faulty.close()
    server.stop()


@pytest.fixture
def app(database_url: str, tmp_path: Path, clock, gateway: FaultyGateway) -> Iterator[Flask]:
    port = free_port()
    overrides = {
        "database_url": database_url,
        "instance_path": str(tmp_path / "instance"),
        "carrier": "twilio",
        "twilio_account_sid": ACCOUNT_SID,
        "twilio_auth_token": AUTH_TOKEN,
        "twilio_api_base": gateway.url,
        "public_url": f"http://127.0.0.1:{port}",
        "secret_key": "test-secret",
    }
    carrier = TwilioCarrier(ACCOUNT_SID, AUTH_TOKEN, gateway.url, timeout_s=CLIENT_TIMEOUT_S)
    application = create_app(overrides, clock=clock, carrier=carrier, environ={})
    server = EmbeddedServer(application, port=port)
    yield application
    server.close()
    engine_of(application).dispose()


def dial_until_settled(jobs: Jobs, gateway: FaultyGateway, simulated: SimulatedCarrier) -> None:
    """Dial; wait until every held request reached the carrier and every call ended; jump the
    clock to the next attempt (or backoff) that is due; repeat."""
    clock = jobs.clock
    for _ in range(30):
        jobs.dial()
        assert gateway.wait_idle(30) and simulated.wait_idle(30)
        with session_scope(jobs.app) as session:
            pending = session.scalar(
                select(func.count()).select_from(CheckIn).where(CheckIn.status == "pending")
            )
            backoff = session.scalar(
                select(func.min(CallAttempt.due_at)).where(CallAttempt.state == "queued")
            )
            retry = session.scalar(
                select(func.min(CheckIn.next_attempt_at)).where(CheckIn.status == "pending")
            )
        if not pending:
            return
        due = [t for t in (backoff, retry) if t is not None]
        if due and min(due) > clock.now():
            clock.set(min(due))  # type: ignore[attr-defined]
    raise AssertionError("the round did not settle")


@pytest.mark.slow
def test_a_failing_carrier_api_is_retried_with_backoff_and_nobody_is_called_twice(
    app, gateway, simulated, clock
) -> None:
    for n, phone in enumerate(RESIDENTS):
        add_resident(app, f"居民{n}", phone)
    jobs = Jobs(app, worker="carrier-outage")
    jobs.start_rounds()
    started = clock.now()
    dial_until_settled(jobs, gateway, simulated)

    assert gateway.seen[: len(PLAN)] == PLAN  # every fault was met…
    for phone in RESIDENTS:  # …and still each resident was called exactly once
        assert len(simulated.calls_to(phone)) == 1, phone
    with session_scope(app) as session:
        attempts = session.scalars(select(CallAttempt)).all()
        statuses = session.scalars(select(CheckIn.status)).all()
    assert statuses == ["complete"] * len(RESIDENTS)
    assert sorted(a.attempt_no for a in attempts) == [1] * len(RESIDENTS)  # none counted
    # One backoff per refusal; not for the lost reply, whose call's webhooks came first.
    assert sum(a.deferrals for a in attempts) == len(PLAN) - 1
    assert all(a.placed_at is not None for a in attempts)
    assert {a.call_sid for a in attempts} == set(simulated.records)
    # Backoff doubles for an attempt refused again and again (5 s, 10 s, 20 s …): the round
    # took longer than one backoff, yet far less than the calling window.
    assert dt.timedelta(seconds=5) < clock.now() - started < dt.timedelta(minutes=10)
