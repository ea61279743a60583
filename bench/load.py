"""Load test: 500 simultaneous simulated calls against gunicorn + PostgreSQL, loopback only.

Every resident keys their own temperature; afterwards every one must be stored. Reports 5xx
answers, lost answers and the webhook latency seen by the carrier (p50 / p99).
Run: .venv/bin/python -m bench.load [--calls 500] [--web-workers 4] [--timeout 300]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import select

from bench.common import fresh_database, load_residents, print_table
from bench.processes import production_like, simulator_stats
from ivr import create_app
from ivr.db import engine, session_scope
from ivr.domain.rounds import start_manual_round
from ivr.worker.jobs import Jobs
from storage import CallAttempt, CheckIn, Community, Resident

FIRST_PHONE = 13200000000
THINK_S = 4  # real seconds per question: calls last ~20 s, so all 500 overlap


def temperature_of(n: int) -> Decimal:
    return Decimal(360 + n % 25) / 10  # 36.0 … 38.4, so some open escalations too


def scripts(calls: int) -> str:
    lines = [
        f"+86{FIRST_PHONE + n}=answer 1 {int(temperature_of(n) * 10)}# 1 2 9 think={THINK_S}"
        for n in range(calls)
    ]
    path = Path(tempfile.mkdtemp(prefix="pingan-load-")) / "scripts.txt"
    path.write_text("\n".join(lines), encoding="utf-8")
    return str(path)


def run(calls: int, web_workers: int, timeout: float) -> list[list[Any]]:
    import datetime as dt

    url = fresh_database("postgresql", "pingan_bench_load")
    with production_like(url, web_workers, max_calls=calls, scripts_file=scripts(calls)) as env:
        app = create_app(
            {
                "calls_per_second": 1000.0,
                "max_concurrent_calls": calls,
                "max_attempts": 1,
                "log_level": "ERROR",
                "call_window": (dt.time(0, 0), dt.time.max),
            },
            environ=env,
        )
        load_residents(engine(app), calls, start_phone=FIRST_PHONE)
        settings = app.extensions["pingan.settings"]
        with session_scope(app) as session:
            community = session.scalars(select(Community)).one()
            start_manual_round(session, community, settings, app.extensions["pingan.clock"].now())
        jobs = Jobs(app, worker="load")
        started = time.monotonic()
        while jobs.dial():
            pass
        placed_s = time.monotonic() - started
        while not simulator_stats(env)["idle"] and time.monotonic() - started < timeout:
            time.sleep(0.5)
        duration = time.monotonic() - started
        stats = simulator_stats(env)
        lost = _lost_answers(app, calls)
        peak = _peak_in_flight(app)
    hooks: list[dict[str, Any]] = stats["webhooks"]  # type: ignore[assignment]
    latencies = sorted(h["seconds"] * 1000 for h in hooks if h["status"] is not None)
    failures = sum(1 for h in hooks if h["status"] is None or h["status"] >= 500)
    p99 = latencies[int(len(latencies) * 0.99) - 1]
    return [
        [
            calls,
            peak,
            web_workers,
            f"{placed_s:.1f}",
            f"{duration:.1f}",
            len(hooks),
            failures,
            len(stats["call_errors"]),
            lost,
            f"{statistics.median(latencies):.0f}",  # type: ignore[arg-type]
            f"{p99:.0f}",
            f"{max(latencies):.0f}",
        ]
    ]


def _peak_in_flight(app: Any) -> int:
    """Most calls connected at the same moment (from placed and ended times)."""
    with session_scope(app) as session:
        spans = session.execute(select(CallAttempt.placed_at, CallAttempt.ended_at)).all()
    edges = sorted([(start, 1) for start, _ in spans] + [(end, -1) for _, end in spans])
    live = peak = 0
    for _, step in edges:
        live += step
        peak = max(peak, live)
    return peak


def _lost_answers(app: Any, calls: int) -> int:
    """Residents whose keyed temperature is not on their check-in."""
    with session_scope(app) as session:
        rows = session.execute(
            select(Resident.phone, CheckIn.temperature_c, CheckIn.status).join(Resident)
        ).all()
    lost = 0
    for phone, temperature, status in rows:
        n = int(phone[3:]) - FIRST_PHONE
        if status != "complete" or temperature != temperature_of(n):
            lost += 1
    return lost + (calls - len(rows))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--web-workers", type=int, default=4)
    parser.add_argument("--timeout", type=float, default=300)
    args = parser.parse_args()
    print_table(
        "Load: simultaneous simulated calls against gunicorn + PostgreSQL (loopback)",
        [
            "calls",
            "peak in flight",
            "gunicorn workers",
            "all placed s",
            "all ended s",
            "webhooks",
            "5xx/failed",
            "call errors",
            "lost answers",
            "p50 ms",
            "p99 ms",
            "max ms",
        ],
        run(args.calls, args.web_workers, args.timeout),
    )


if __name__ == "__main__":
    main()
