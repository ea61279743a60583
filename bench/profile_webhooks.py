"""Where a check-in webhook's time goes: the real app in-process, the same signed requests as
``bench.webhooks``, on PostgreSQL. Prints CPU per webhook, CPU per layer (cProfile, by the
package of the function that spent it) and every SQL statement a call's webhooks send.
Run: .venv/bin/python -m bench.profile_webhooks [--calls 300]
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import time
from collections import Counter, defaultdict
from typing import Any

from sqlalchemy import event
from twilio.request_validator import RequestValidator

from bench.common import print_table
from bench.processes import TOKEN
from bench.webhooks import KEYS, prepare
from ivr import create_app
from ivr.db import engine

BASE = "http://localhost"
LAYERS = (
    ("sqlalchemy", "SQLAlchemy"),
    ("psycopg", "psycopg"),
    ("werkzeug", "Flask / Werkzeug"),
    ("flask", "Flask / Werkzeug"),
    ("jinja2", "Flask / Werkzeug"),
    ("twilio", "twilio (signature, TwiML)"),
    ("xml", "twilio (signature, TwiML)"),
    ("callflows", "callflows"),
    ("ivr", "ivr"),
    ("storage", "storage"),
)


def requests_of(code: str) -> list[tuple[str, dict[str, str]]]:
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
    return [(path, {**common, **extra}) for path, extra in steps]


def layer_of(filename: str) -> str:
    parts = filename.replace("\\", "/").split("/")
    for package, name in LAYERS:
        if package in parts:
            return name
    return "Python standard library and the rest"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    url, codes = prepare(args.calls, "pingan_bench_profile")
    app = create_app(
        {
            "database_url": url,
            "log_level": "ERROR",
            "carrier": "simulator",
            "twilio_auth_token": TOKEN,
            "public_url": BASE,
        },
        environ={},
    )
    client = app.test_client()
    validator = RequestValidator(TOKEN)
    signed = [
        (path, form, validator.compute_signature(BASE + path, form))
        for code in codes
        for path, form in requests_of(code)
    ]
    statements: Counter[str] = Counter()
    statement_s: defaultdict[str, float] = defaultdict(float)
    started: dict[int, float] = {}

    @event.listens_for(engine(app), "before_cursor_execute")
    def _before(conn: Any, cursor: Any, sql: str, *_: Any) -> None:
        started[id(cursor)] = time.perf_counter()

    @event.listens_for(engine(app), "after_cursor_execute")
    def _after(conn: Any, cursor: Any, sql: str, *_: Any) -> None:
        key = " ".join(sql.split())[:110]
        statements[key] += 1
        statement_s[key] += time.perf_counter() - started.pop(id(cursor), time.perf_counter())

    per_call = len(KEYS) + 2
    tenth, half = per_call * (len(codes) // 10), per_call * (len(codes) // 2)
    warm, plain, measured = signed[:tenth], signed[tenth:half], signed[half:]
    for path, form, signature in warm:
        client.post(path, data=form, headers={"X-Twilio-Signature": signature})
    cpu, wall = time.process_time(), time.perf_counter()
    for path, form, signature in plain:
        client.post(path, data=form, headers={"X-Twilio-Signature": signature})
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    print(
        f"{len(plain)} webhooks without the profiler: {1000 * cpu / len(plain):.2f} ms CPU, "
        f"{1000 * wall / len(plain):.2f} ms wall each (Flask test client, one thread)"
    )
    statements.clear()
    statement_s.clear()
    profile = cProfile.Profile(time.process_time)  # CPU, not waiting
    cpu, wall = time.process_time(), time.perf_counter()
    profile.enable()
    failures = 0
    for path, form, signature in measured:
        response = client.post(path, data=form, headers={"X-Twilio-Signature": signature})
        failures += response.status_code >= 400
    profile.disable()
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    n = len(measured)
    print(f"{n} webhooks, {failures} failed; under cProfile: {1000 * cpu / n:.2f} ms CPU each")
    by_layer: defaultdict[str, float] = defaultdict(float)
    stats = pstats.Stats(profile)
    for (filename, _line, _name), row in stats.stats.items():  # type: ignore[attr-defined]
        by_layer[layer_of(filename)] += row[2]  # own time
    total = sum(by_layer.values())
    print_table(
        "Own CPU time per layer (cProfile)",
        ["layer", "ms per webhook", "share"],
        [
            [name, f"{1000 * s / n:.3f}", f"{100 * s / total:.0f}%"]
            for name, s in sorted(by_layer.items(), key=lambda kv: -kv[1])
        ],
    )
    calls = n / per_call
    print_table(
        "SQL statements per call (7 webhooks)",
        ["per call", "ms each", "statement"],
        [
            [f"{count / calls:.1f}", f"{1000 * statement_s[sql] / count:.3f}", sql]
            for sql, count in statements.most_common()
        ],
    )
    stats.sort_stats("cumulative").print_stats(args.top)
    stats.sort_stats("tottime").print_stats(args.top)


if __name__ == "__main__":
    main()
