"""Benchmark: dialing pace against the simulator, and the dialer's own cost per call.

Targets (issue 3): at 1, 10 and 50 calls per second the measured rate is within 2% of the
setting and never above it; the dialer's CPU time per call placed (carrier excluded) is reported.
Run: .venv/bin/python -m bench.pacing [--seconds 20] [--rates 1,10,50]
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import tempfile
import time
import uuid
from bisect import bisect_right
from typing import Any

from sqlalchemy import func, select

from bench.common import fresh_database, load_residents, print_table
from bench.processes import production_like, simulator_stats
from ivr import create_app
from ivr.carriers.telephony import OutboundCall
from ivr.db import engine, session_scope
from ivr.domain.rounds import start_manual_round
from ivr.worker.jobs import Jobs
from storage import CallAttempt, CheckIn, Community
from storage.migrate import upgrade

BASE_SETTINGS: dict[str, Any] = {
    "log_level": "ERROR",
    "max_concurrent_calls": 100_000,
    "max_attempts": 1,
}


def _app(instance: Any = None, environ: dict[str, str] | None = None, **overrides: Any) -> Any:
    if environ is None:
        folder = tempfile.mkdtemp(prefix="pingan-pacing-")
        overrides = {
            "instance_path": folder,
            "database_url": f"sqlite:///{folder}/pingan.db",
            "twilio_auth_token": "bench-token",
            **overrides,
        }
    app = create_app({**BASE_SETTINGS, **overrides}, carrier=instance, environ=environ)
    upgrade(engine(app))
    return app


def _start_round(app: Any, count: int) -> None:
    load_residents(engine(app), count, start_phone=13100000000)
    settings = app.extensions["pingan.settings"].replace(call_window=(dt.time(0, 0), dt.time.max))
    app.extensions["pingan.settings"] = settings
    with session_scope(app) as session:
        community = session.scalars(select(Community)).one()
        start_manual_round(session, community, settings, app.extensions["pingan.clock"].now())


def measure_pace(rate: float, seconds: float, kind: str) -> list[object]:
    """The dialer in this process; carrier (simulator REST) and webhooks (gunicorn) in others.

    Reported twice: when the dialer sent each request (what Pingan controls) and when the
    carrier received it (adds the receiving process's scheduling jitter on a loaded machine).
    """
    count = max(int(rate * seconds), 20)
    url = fresh_database(kind, "pingan_bench_pacing")
    with production_like(url) as env:
        app = _app(environ=env, calls_per_second=rate)
        _start_round(app, count)
        jobs = Jobs(app, worker="bench")
        while jobs.dial() or _queued(app):
            pass
        received = [float(t) for t in simulator_stats(env)["create_times"]]  # type: ignore[union-attr]
        with session_scope(app) as session:
            sent = [t.timestamp() for t in session.scalars(select(CallAttempt.placed_at))]
    sent_rate, sent_peak, sent_gap = _rates(sent)
    got_rate, got_peak, _ = _rates(received)
    ok = abs(sent_rate - rate) / rate <= 0.02 and sent_rate <= rate and sent_peak <= rate
    return [
        rate,
        len(sent),
        f"{sent_rate:.3f} ({100 * (sent_rate - rate) / rate:+.2f}%)",
        sent_peak,
        f"{sent_gap * 1000:.1f}",
        f"{got_rate:.3f} ({100 * (got_rate - rate) / rate:+.2f}%)",
        got_peak,
        "yes" if ok else "NO",
    ]


def _rates(times: list[float]) -> tuple[float, int, float]:
    """Average rate, most events in any 1-second window, smallest gap."""
    times = sorted(times)
    average = (len(times) - 1) / (times[-1] - times[0])
    peak = max(bisect_right(times, t + 1.0 - 1e-9) - i for i, t in enumerate(times))
    return average, peak, min(b - a for a, b in itertools.pairwise(times))


def _queued(app: Any) -> bool:
    with session_scope(app) as session:
        return bool(
            session.scalar(
                select(func.count())
                .select_from(CheckIn)
                .where(CheckIn.status == "pending", CheckIn.next_attempt_at.is_not(None))
            )
        )


class CountingCarrier:
    """Answers instantly and places nothing: what is left is the dialer's own work."""

    name = "null"

    def __init__(self) -> None:
        self.placed = 0

    def place_call(self, call: OutboundCall) -> str:
        self.placed += 1
        return "CA" + uuid.uuid4().hex

    def fetch_call(self, sid: str) -> Any:
        raise NotImplementedError

    def send_sms(self, to: str, from_: str, text: object) -> str:
        return "SM" + uuid.uuid4().hex


def measure_cost(calls: int) -> list[object]:
    carrier = CountingCarrier()
    app = _app(
        carrier, carrier="simulator", calls_per_second=1_000_000.0, public_url="http://127.0.0.1:9"
    )
    _start_round(app, calls)
    jobs = Jobs(app, worker="bench")
    wall, cpu = time.perf_counter(), time.process_time()
    while carrier.placed < calls:
        jobs.dial()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return [calls, f"{1000 * cpu / calls:.2f}", f"{1000 * wall / calls:.2f}", f"{calls / wall:.0f}"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--rates", default="1,10,50")
    parser.add_argument("--cost-calls", type=int, default=5000)
    parser.add_argument("--db", default="postgresql", choices=["sqlite", "postgresql"])
    args = parser.parse_args()
    rows = [measure_pace(float(r), args.seconds, args.db) for r in args.rates.split(",")]
    print_table(
        f"Dialing pace: simulator REST + gunicorn in other processes ({args.db})",
        [
            "setting/s",
            "calls",
            "sent/s",
            "sent max in 1 s",
            "sent min gap ms",
            "received/s",
            "received max in 1 s",
            "within 2%, never above (sent)",
        ],
        rows,
    )
    print_table(
        "Dialer cost per call placed (carrier excluded)",
        ["calls", "cpu ms/call", "wall ms/call", "calls/s possible"],
        [measure_cost(args.cost_calls)],
    )


if __name__ == "__main__":
    main()
