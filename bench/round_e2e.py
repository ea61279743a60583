"""Benchmark: one round of 10,000 residents end to end, as production runs it.

PostgreSQL; the simulated carrier's REST API, ``pingan serve`` (gunicorn) and ``--workers``
``pingan worker`` processes each in their own processes; a high calls-per-second setting.
Every resident answers and keys a whole check-in (ten webhooks a call), so this measures what
one machine can push through the whole path: pacing, REST, every webhook, every answer stored.
Reports check-ins completed per second from the round's start to its last check-in.
Run: .venv/bin/python -m bench.round_e2e [--residents 10000] [--rate 200] [--workers 2]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import time
from collections import Counter
from typing import Any

from sqlalchemy import func, select

from bench.common import fresh_database, load_residents, print_table
from bench.processes import PINGAN, production_like, simulator_stats
from storage import CallAttempt, CheckIn, make_engine, make_sessionmaker

ANSWERS = "answer 1 365# 1 2 9"
FIRST_PHONE = 13300000000


def run_round(
    residents: int, rate: float, workers: int, web_workers: int, timeout: float
) -> list[object]:
    url = fresh_database("postgresql", "pingan_bench_round")
    engine = make_engine(url)
    load_residents(engine, residents, communities=10, start_phone=FIRST_PHONE)
    sessions = make_sessionmaker(engine)
    max_calls = max(64, int(rate * 3))
    with production_like(url, web_workers, ANSWERS, max_calls) as base:
        env = {
            **base,
            "PINGAN_CALL_WINDOW": "00:00-24:00",
            "PINGAN_CALLS_PER_SECOND": str(rate),
            "PINGAN_MAX_CONCURRENT_CALLS": str(max_calls),
        }
        subprocess.run([PINGAN, "round", "start"], env=env, check=True, capture_output=True)
        started = time.monotonic()
        children = [
            subprocess.Popen([PINGAN, "worker"], env=env, stdout=subprocess.DEVNULL, stderr=None)
            for _ in range(workers)
        ]
        try:
            statuses = _wait_until_settled(sessions, residents, timeout)
            took = time.monotonic() - started
            stats = simulator_stats(base)
        finally:
            for child in children:
                child.terminate()
            for child in children:
                child.wait(timeout=60)
    with sessions() as session:
        placed = sorted(t.timestamp() for t in session.scalars(select(CallAttempt.placed_at)) if t)
        temperatures = session.scalar(
            select(func.count()).select_from(CheckIn).where(CheckIn.temperature_c.is_not(None))
        )
    engine.dispose()
    hooks: list[dict[str, Any]] = stats["webhooks"]  # type: ignore[assignment]
    latencies = sorted(h["seconds"] * 1000 for h in hooks if h["status"] is not None)
    failures = sum(1 for h in hooks if h["status"] is None or h["status"] >= 500)
    place_rate = (len(placed) - 1) / (placed[-1] - placed[0]) if len(placed) > 1 else 0.0
    return [
        residents,
        f"{rate:g}",
        workers,
        f"{took:.0f}",
        f"{statuses.get('complete', 0) / took:.1f}",
        f"{place_rate:.1f}",
        dict(statuses),
        temperatures,
        len(hooks),
        failures,
        f"{statistics.median(latencies):.0f}",
        f"{latencies[int(len(latencies) * 0.99) - 1]:.0f}",
    ]


def _wait_until_settled(sessions: Any, residents: int, timeout: float) -> Counter[str]:
    deadline = time.monotonic() + timeout
    while True:
        with sessions() as session:
            statuses = Counter(session.scalars(select(CheckIn.status)))
        if sum(statuses.values()) == residents and not statuses.get("pending"):
            return statuses
        if time.monotonic() > deadline:
            raise SystemExit(f"round not settled after {timeout:.0f} s: {dict(statuses)}")
        time.sleep(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--residents", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=200, help="PINGAN_CALLS_PER_SECOND")
    parser.add_argument("--workers", type=int, default=2, help="pingan worker processes")
    parser.add_argument("--web-workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--timeout", type=float, default=1800)
    args = parser.parse_args()
    row = run_round(args.residents, args.rate, args.workers, args.web_workers, args.timeout)
    print_table(
        f"One round end to end (PostgreSQL, {os.cpu_count()} CPUs, every resident answers)",
        [
            "residents",
            "calls/s setting",
            "workers",
            "seconds",
            "check-ins completed/s",
            "calls placed/s",
            "check-ins",
            "temperatures stored",
            "webhooks",
            "5xx or failed",
            "webhook p50 ms",
            "webhook p99 ms",
        ],
        [row],
    )


if __name__ == "__main__":
    main()
