"""Four ``pingan worker`` processes share one PostgreSQL database and one round of 5,000
residents, dialing through the simulated carrier's REST API with the webhooks on gunicorn.

Every call attempt must be placed exactly once, nobody may be skipped, the round slot must be
started once although all four workers race for it, and the calls-per-second limit must hold
for all workers together. Calls whose status callbacks are lost are settled by the sweeper.
The same round runs on Alibaba Cloud VMS, where a lost receipt is looked up with
``QueryCallDetailByCallId``.
"""

from __future__ import annotations

import datetime as dt
import random
import threading
import time
from bisect import bisect_left
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import func, select

from ivr.clock import SystemClock
from ivr.worker.pacing import Pacer
from storage import CallAttempt, CheckIn, Round, make_engine, make_sessionmaker
from tests.processes import (
    ALIYUN,
    FULL_NUMBER,
    TWILIO,
    create_times,
    environment,
    fresh_postgres,
    load_residents,
    noon_zone,
    phone,
    processes,
    simulator_calls,
)

RESIDENTS = 5000
COMMUNITIES = 4
WORKERS = 4
RATE = 50  # calls per second: 5,000 calls in about 100 s
# Who does what. A whole check-in costs ten webhooks, a busy line three; on a 2-core machine
# the webhooks of 5,000 whole check-ins would take minutes, so most lines are busy (missed
# after one attempt) and a few hundred residents answer.
ANSWER = range(0, 400)
LOST_CALLBACKS = range(0, 40)  # among the first called: every status callback is lost
ANSWERS = "answer 1 365# 1 2 9"


def most_in_window(times: list[float], window: float) -> int:
    """The largest number of ``times`` inside any half-open window ``[t, t + window)``."""
    times = sorted(times)
    return max(bisect_left(times, t + window) - i for i, t in enumerate(times))


def wait_until_settled(sessions, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with sessions() as session:
            checkins = session.scalar(select(func.count()).select_from(CheckIn))
            pending = session.scalar(
                select(func.count()).select_from(CheckIn).where(CheckIn.status == "pending")
            )
        if checkins == RESIDENTS and pending == 0:
            return
        time.sleep(2)
    raise AssertionError(f"{pending} of {checkins} check-ins still pending after {timeout} s")


@pytest.mark.slow
@pytest.mark.parametrize("carrier", [TWILIO, ALIYUN])
def test_four_workers_call_5000_residents_once_each_within_the_rate_limit(
    tmp_path: Path, carrier: str
) -> None:
    _, local_now = noon_zone()
    due = (local_now - dt.timedelta(minutes=1)).strftime("%H:%M")
    with fresh_postgres() as url:
        load_residents(url, RESIDENTS, COMMUNITIES)
        env = environment(
            url,
            tmp_path,
            carrier,
            PINGAN_ROUND_TIMES=due,  # due now: all four workers race to start it
            PINGAN_CALLS_PER_SECOND=str(RATE),
            # Room for a few seconds of calls: one worker cannot claim the whole round, so all
            # four take their share as calls end.
            PINGAN_MAX_CONCURRENT_CALLS="200",
            PINGAN_MAX_ATTEMPTS="1",
            PINGAN_RING_TIMEOUT="10s",
        )
        scripts = [
            f"--script={phone(n)}={ANSWERS}"
            + (" faults=drop_status" if n in LOST_CALLBACKS else "")
            for n in ANSWER
        ]
        engine = make_engine(url)
        sessions = make_sessionmaker(engine)
        with processes(env, tmp_path) as running:
            running.services("--default", "busy", *scripts)
            started = time.monotonic()
            for n in range(WORKERS):
                running.worker(n)
            # A net for a hang, not a speed target.
            wait_until_settled(sessions, timeout=900)
            took = time.monotonic() - started
            carrier_calls = simulator_calls(env)
            created = create_times(env)
            health = running.run("health")
            logs = running.logs()
        with sessions() as session:
            rounds = session.scalars(select(Round)).all()
            attempts = session.execute(
                select(CallAttempt.call_sid, CallAttempt.claimed_by, CallAttempt.placed_at)
            ).all()
            checkins = Counter(session.scalars(select(CheckIn.status)))
            per_checkin = session.execute(
                select(CheckIn.attempts, func.count(CallAttempt.id))
                .join(CallAttempt, CallAttempt.checkin_id == CheckIn.id)
                .group_by(CheckIn.id)
            ).all()
        engine.dispose()

    placed = [a.placed_at.timestamp() for a in attempts]
    measured = (len(placed) - 1) / (max(placed) - min(placed))
    print(
        f"\n{carrier}: {RESIDENTS} residents, {WORKERS} workers, limit {RATE}/s: "
        f"{len(placed)} calls, "
        f"measured {measured:.2f}/s, most in 1 s: {most_in_window(placed, 1.0)} placed, "
        f"{most_in_window(created, 1.0)} received; most received in 5 s "
        f"{most_in_window(created, 5.0)}, in 10 s {most_in_window(created, 10.0)}; "
        f"round took {took:.0f} s"
    )
    # Each community's round slot was started once, although every worker tried.
    assert sorted((r.community_id, r.slot) for r in rounds) == [
        (n + 1, due) for n in range(COMMUNITIES)
    ]
    # Exactly one carrier call per attempt, and each call belongs to exactly one attempt.
    sids = [a.call_sid for a in attempts]
    assert None not in sids and len(set(sids)) == len(sids)
    assert sorted(c["sid"] for c in carrier_calls) == sorted(sids)
    calls_per_phone = Counter(c["to"] for c in carrier_calls)
    assert calls_per_phone == {phone(n): 1 for n in range(RESIDENTS)}, "skipped or called twice"
    assert all(counted == rows for counted, rows in per_checkin)
    shares = Counter(a.claimed_by for a in attempts)
    assert len(shares) == WORKERS, shares  # every worker placed some of the calls
    # Everyone ended: the lost callbacks were settled by the sweeper from the carrier's record.
    assert checkins == {"complete": len(ANSWER), "missed": RESIDENTS - len(ANSWER)}
    assert logs.count("settled by the sweeper as completed (callbacks lost)") == len(LOST_CALLBACKS)

    # The rate, all four workers together. ``placed_at`` is when a worker fired the request,
    # on the dialer's own clock: there the limit must hold strictly, in every 1-s window. The
    # simulator stamps each create when its HTTP server gets round to it; on a loaded 2-core
    # machine that adds scheduling jitter (CI once saw 280 received in 5 s, i.e. over half a
    # second), which crowds the carrier's windows without any call having been fired early.
    # There the check is over 10-s windows with two seconds of slack, which tolerates that
    # jitter yet still catches per-worker pacing (four workers, four times the rate: 2,000).
    assert most_in_window(placed, 1.0) <= RATE
    assert most_in_window(created, 10.0) <= 12 * RATE
    assert measured <= RATE
    # Its communities have no staff, so health warns "no one on duty"; all else must be ok.
    assert "on duty   no one on duty" in health.stdout, health.stdout + health.stderr
    assert "scheduler ok (4 workers" in health.stdout and "alerts    ok" in health.stdout
    assert not FULL_NUMBER.search(logs)  # thousands of calls logged, no number in full


class LateClock(SystemClock):
    """The real clock, but every sleep overshoots by up to 30 ms (a busy CPU)."""

    def __init__(self, seed: int) -> None:
        self._random = random.Random(seed)

    def sleep(self, seconds: float) -> None:
        super().sleep(max(seconds, 0) + self._random.uniform(0, 0.03))


def test_workers_that_wake_late_still_never_crowd_a_second(database_url: str) -> None:
    """Three workers' dialers share one pace; each oversleeps now and then, yet no 1-s window
    holds more permits than the rate, and dialing goes on."""
    rate, seconds = 20.0, 3.0
    engine = make_engine(database_url)
    sessions = make_sessionmaker(engine)
    granted: list[float] = []

    def dial(seed: int) -> None:
        with Pacer(sessions, LateClock(seed), rate).permits() as permit:
            while (now := permit()) < start + seconds:
                granted.append(now)

    start = time.time()
    workers = [threading.Thread(target=dial, args=(n,)) for n in range(3)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    engine.dispose()
    assert most_in_window(granted, 1.0) <= rate
    # How little of the rate is lost is a benchmark's figure (a loaded machine starves the
    # threads); the test asks only that dialing went on through the whole period.
    assert len(granted) >= rate
