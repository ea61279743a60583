"""Benchmark: webhook throughput of the real check-in endpoints against two yardsticks.

All three run under the same gunicorn settings in the same run, driven by the same client:
signed form POSTs that walk whole check-in calls (answer, five key entries, the final status
callback). The yardsticks are a bare Flask app answering constant TwiML (``bench.bare_app``)
and a hand-written app doing the minimum durable work of a key press in psycopg
(``bench.reference_app``). The real app keeps its state in PostgreSQL and stores every answer;
after its run every call's temperature must be there. Targets: Pingan ≥ 70 % of the
reference's throughput, ≤ 1.5 ms of CPU per webhook in the gunicorn workers.
Run: .venv/bin/python -m bench.webhooks [--calls 1500] [--workers 2] [--clients 32]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from multiprocessing import Pool
from typing import Any

import requests
from sqlalchemy import func, select, update
from twilio.request_validator import RequestValidator

from bench.common import fresh_database, load_residents, print_table
from bench.processes import PINGAN, TOKEN, _wait, free_port
from ivr import create_app
from ivr.db import engine, session_scope
from ivr.domain.rounds import start_manual_round
from ivr.worker.dialer import queue_due_calls
from storage import CallAttempt, CheckIn, Community

KEYS = ["1", "365", "1", "2", "9"]
GUNICORN = PINGAN.replace("/pingan", "/gunicorn")


def prepare(calls: int, name: str = "pingan_bench_webhooks") -> tuple[str, list[str]]:
    """A PostgreSQL database with ``calls`` answered attempts waiting for their webhooks."""
    url = fresh_database("postgresql", name)
    app = create_app(
        {
            "database_url": url,
            "call_window": (dt.time(0), dt.time.max),
            "log_level": "ERROR",
            "carrier": "simulator",
            "twilio_auth_token": TOKEN,
        },
        environ={},
    )
    load_residents(engine(app), calls, start_phone=13300000000)
    now = app.extensions["pingan.clock"].now()
    with session_scope(app) as session:
        start_manual_round(
            session,
            session.scalars(select(Community)).one(),
            app.extensions["pingan.settings"],
            now,
        )
        queue_due_calls(session, now, calls)
        session.execute(update(CallAttempt).values(state="placed", placed_at=now))
        codes = list(session.scalars(select(CallAttempt.code)))
    engine(app).dispose()
    return url, codes


def gunicorn(target: str, port: int, workers: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            GUNICORN,
            "-k",
            "gthread",
            "--threads",
            "8",
            "--keep-alive",
            "30",
            "-w",
            str(workers),
            "-b",
            f"127.0.0.1:{port}",
            "--log-level",
            "error",
            target,
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def worker_cpu_s(master: int) -> float:
    """CPU seconds used so far by the gunicorn workers of ``master`` (user + system)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == master:
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def temperatures_stored(url: str) -> int:
    from storage import make_engine

    db = make_engine(url)
    with db.connect() as connection:
        count = connection.scalar(
            select(func.count()).select_from(CheckIn).where(CheckIn.temperature_c.is_not(None))
        )
    db.dispose()
    return int(count or 0)


def one_call(base: str, code: str, session: requests.Session) -> tuple[int, int]:
    """Walk one call as Twilio would; returns (requests, failures)."""
    validator = RequestValidator(TOKEN)
    sid = "CA" + code.encode().hex()[:32].ljust(32, "0")
    common = {
        "CallSid": sid,
        "AccountSid": "AC" + "b" * 32,
        "From": "+8657100000000",
        "To": "+8613300000000",
        "ApiVersion": "2010-04-01",
        "Direction": "outbound-api",
    }
    steps = [(f"/voice/{code}/answer", {"CallStatus": "in-progress"})]
    steps += [
        (f"/voice/{code}/gather?t={turn}", {"CallStatus": "in-progress", "Digits": d})
        for turn, d in enumerate(KEYS)
    ]
    steps.append(
        (
            f"/voice/{code}/status",
            {"CallStatus": "completed", "SequenceNumber": "3", "CallDuration": "60"},
        )
    )
    failures = 0
    for path, extra in steps:
        form = {**common, **extra}
        signature = validator.compute_signature(base + path, form)
        response = session.post(
            base + path, data=form, timeout=30, headers={"X-Twilio-Signature": signature}
        )
        failures += response.status_code >= 400
    return len(steps), failures


def _drive(args: tuple[str, list[str], int]) -> tuple[int, int]:
    base, codes, clients = args
    sessions = [requests.Session() for _ in range(clients)]
    with ThreadPoolExecutor(clients) as pool:
        results = list(
            pool.map(
                lambda item: one_call(base, item[1], sessions[item[0] % clients]), enumerate(codes)
            )
        )
    return sum(r[0] for r in results), sum(r[1] for r in results)


def drive(base: str, codes: list[str], clients: int, processes: int = 2) -> tuple[float, int, int]:
    chunks = [(base, codes[n::processes], clients // processes) for n in range(processes)]
    started = time.perf_counter()
    with Pool(processes) as pool:
        results = pool.map(_drive, chunks)
    seconds = time.perf_counter() - started
    return seconds, sum(r[0] for r in results), sum(r[1] for r in results)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=1500)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--clients", type=int, default=32)
    args = parser.parse_args()
    url, codes = prepare(args.calls)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PINGAN_", "TWILIO_"))}
    real_port, bare_port, reference_port = free_port(), free_port(), free_port()
    env.update(
        {
            "PINGAN_DATABASE_URL": url,
            "TWILIO_AUTH_TOKEN": TOKEN,
            "PINGAN_LOG_LEVEL": "ERROR",
            "PINGAN_CARRIER": "simulator",
            "PINGAN_PUBLIC_URL": f"http://127.0.0.1:{real_port}",
        }
    )
    rows: list[list[Any]] = []
    apps = (
        ("bare Flask, constant TwiML", "bench.bare_app:app", bare_port),
        # before the reference, which moves the calls' turns on (it knows no flow)
        ("Pingan check-in webhooks", "ivr:create_app()", real_port),
        ("reference: psycopg lock, update, insert", "bench.reference_app:app", reference_port),
    )
    servers = {port: gunicorn(target, port, args.workers, env) for _, target, port in apps}
    lost = None
    try:
        for port in servers:
            _wait(f"http://127.0.0.1:{port}/healthz")
        results = {}
        for name, _target, port in apps:
            cpu = worker_cpu_s(servers[port].pid)
            seconds, sent, failed = drive(f"http://127.0.0.1:{port}", codes, args.clients)
            cpu_ms = 1000 * (worker_cpu_s(servers[port].pid) - cpu) / sent
            results[name] = sent / seconds
            rows.append(
                [name, sent, failed, f"{seconds:.1f}", f"{sent / seconds:.0f}", f"{cpu_ms:.2f}"]
            )
            if port == real_port:
                lost = len(codes) - temperatures_stored(url)
    finally:
        for server in servers.values():
            server.terminate()
            server.wait(timeout=15)
    pingan = results["Pingan check-in webhooks"]
    reference = results["reference: psycopg lock, update, insert"]
    bare = results["bare Flask, constant TwiML"]
    rows.append(
        ["Pingan / reference (target ≥ 70%)", "", "", "", f"{100 * pingan / reference:.0f}%", ""]
    )
    rows.append(["Pingan / bare", "", "", "", f"{100 * pingan / bare:.0f}%", ""])
    rows.append(["reference / bare", "", "", "", f"{100 * reference / bare:.0f}%", ""])
    print_table(
        f"Webhook throughput, gunicorn gthread {args.workers} workers × 8 threads, "
        f"{args.clients} clients, PostgreSQL; temperatures lost: {lost}",
        ["app", "requests", "errors", "seconds", "requests/s", "worker CPU ms/request"],
        rows,
    )


if __name__ == "__main__":
    main()
