"""Does a key press cost more in a bigger household? The real app in-process (Flask test
client, signed Twilio requests, PostgreSQL), one household call per phone, every member
answering; prints CPU and SQL statements per key-press webhook for households of 1, 2, 4
and 6 members, overall and for the last member's keys alone (the worst case: the most
``call_member`` rows and answers before them).
Run: .venv/bin/python -m bench.household_keys [--calls 120] [--sizes 1,2,4,6]
"""

from __future__ import annotations

import argparse
import datetime as dt
import time
from typing import Any

from sqlalchemy import event, select, update
from twilio.request_validator import RequestValidator

from bench.common import fresh_database, load_residents, print_table
from bench.processes import TOKEN
from ivr import create_app
from ivr.db import engine, session_scope
from ivr.domain.rounds import start_manual_round
from ivr.worker.dialer import queue_due_calls
from storage import CallAttempt, Community

BASE = "http://localhost"
MEMBER_KEYS = ["365", "1", "2"]  # temperature, its read-back, no symptoms


def prepare(calls: int, size: int) -> str:
    """A database with ``calls`` answered household calls of ``size`` members each."""
    url = fresh_database("postgresql", f"pingan_bench_household_{size}")
    settings = {
        "database_url": url,
        "call_window": (dt.time(0), dt.time.max),
        "log_level": "ERROR",
        "carrier": "simulator",
        "twilio_auth_token": TOKEN,
    }
    app = create_app(settings, environ={})
    load_residents(engine(app), calls * size, start_phone=13300000000, households=calls)
    now = app.extensions["pingan.clock"].now()
    with session_scope(app) as session:
        community = session.scalars(select(Community)).one()
        start_manual_round(session, community, app.extensions["pingan.settings"], now)
        queue_due_calls(session, now, calls)
        session.execute(update(CallAttempt).values(state="placed", placed_at=now))
    engine(app).dispose()
    return url


def form_of(code: str) -> dict[str, str]:
    return {
        "CallSid": "CA" + code.encode().hex()[:32].ljust(32, "0"),
        "AccountSid": "AC" + "b" * 32,
        "From": "+8657100000000",
        "To": "+8613300000000",
        "ApiVersion": "2010-04-01",
        "Direction": "outbound-api",
        "CallStatus": "in-progress",
    }


def key_presses(code: str, size: int) -> list[tuple[str, dict[str, str], bool]]:
    """The call's key-press webhooks: (path, form, whether the last member is keying)."""
    form = form_of(code)
    keys = [("1", False)]
    for member in range(size):
        keys += [(k, member == size - 1) for k in MEMBER_KEYS]
    keys.append(("9", False))
    return [
        (f"/voice/{code}/gather?t={turn}", {**form, "Digits": digits}, last)
        for turn, (digits, last) in enumerate(keys)
    ]


def measure(calls: int, size: int) -> list[Any]:
    url = prepare(calls, size)
    app = create_app(
        {"database_url": url, "log_level": "ERROR", "carrier": "simulator"}
        | {"twilio_auth_token": TOKEN, "public_url": BASE},
        environ={},
    )
    client, validator = app.test_client(), RequestValidator(TOKEN)
    statements = [0]

    @event.listens_for(engine(app), "after_cursor_execute")
    def _count(*_: Any) -> None:
        statements[0] += 1

    with session_scope(app) as session:
        codes = list(session.scalars(select(CallAttempt.code).order_by(CallAttempt.id)))
    totals = {True: [0.0, 0, 0], False: [0.0, 0, 0]}  # last member? -> cpu, statements, n
    failed = 0
    for n, code in enumerate(codes):
        answer, form = f"/voice/{code}/answer", form_of(code)
        sign = validator.compute_signature(BASE + answer, form)
        client.post(answer, data=form, headers={"X-Twilio-Signature": sign})
        for path, data, last in key_presses(code, size):
            sign = validator.compute_signature(BASE + path, data)
            before, cpu = statements[0], time.process_time()
            response = client.post(path, data=data, headers={"X-Twilio-Signature": sign})
            if n >= len(codes) // 5:  # the first fifth warms the caches
                row = totals[last]
                row[0] += time.process_time() - cpu
                row[1] += statements[0] - before
                row[2] += 1
            failed += response.status_code >= 400
    engine(app).dispose()
    every = [sum(t[i] for t in totals.values()) for i in range(3)]
    last = totals[True]
    return [
        size,
        len(codes),
        f"{1000 * every[0] / every[2]:.2f}",
        f"{every[1] / every[2]:.2f}",
        f"{1000 * last[0] / last[2]:.2f}",
        f"{last[1] / last[2]:.2f}",
        failed,
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=120)
    parser.add_argument("--sizes", default="1,2,4,6")
    args = parser.parse_args()
    rows = [measure(args.calls, int(s)) for s in args.sizes.split(",")]
    print_table(
        "Key-press webhooks by household size (PostgreSQL, in-process, one thread)",
        ["members", "calls", "ms CPU/key", "SQL/key", "last member: ms CPU", "SQL", "failed"],
        rows,
    )


if __name__ == "__main__":
    main()
