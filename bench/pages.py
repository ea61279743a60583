"""Benchmark: dashboard page render times with many residents and a month of calls.

Loads ``--residents`` residents in ``--communities`` communities with ``--days`` days of daily
check-ins, call attempts, answers, escalations (the last day's unresolved) and orders, then
renders every dashboard page through the real app (Flask test client, signed in as a community
staff member and as a supervisor) and prints the median of ``--repeat`` renders.

Target (issue 5): the escalation list and the resident list under 100 ms per page on
PostgreSQL with 100,000 residents and 30 days of calls.
Run: .venv/bin/python -m bench.pages [--residents 10000] [--days 30] [--db sqlite,postgresql]
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import re
import statistics
import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import insert, select, text
from sqlalchemy.engine import Connection, Engine

from bench.common import NOW, fresh_database, print_table
from ivr import create_app
from ivr.clock import FixedClock
from ivr.db import engine as engine_of
from ivr.db import session_scope
from ivr.domain.staff import add_staff
from ivr.web.dashboard.accounts import set_password
from ivr.web.dashboard.rollups import roll_up
from storage import (
    Answer,
    CallAttempt,
    CallEvent,
    CheckIn,
    Community,
    Escalation,
    Resident,
    Round,
    ServiceOrder,
    Staff,
    make_engine,
)
from storage.day_summary import refresh_all

TODAY = dt.date(2026, 11, 28)
PASSWORD = "bench-password"
CHUNK = 5000
EVENTS = (
    ("status", "initiated", None),
    ("status", "ringing", None),
    ("key", "temperature", "366"),
    ("status", "completed", "60s"),
)


def load(engine: Engine, residents: int, days: int, communities: int, detail_days: int) -> None:
    rng = random.Random(5)
    with engine.begin() as db:
        ids = [
            db.execute(
                insert(Community).values(name=f"社区{n}", created_at=NOW).returning(Community.id)
            ).scalar_one()
            for n in range(communities)
        ]
        _bulk(db, Resident, (_resident(n, ids[n % len(ids)]) for n in range(residents)))
        people = [(r, c) for r, c in db.execute(select(Resident.id, Resident.community_id))]
        for back in range(days - 1, -1, -1):
            _day(db, rng, people, ids, TODAY - dt.timedelta(days=back), back, detail_days)
        refresh_all(db)  # bulk inserts skip the ORM, which keeps the day summaries


def _resident(n: int, community_id: int) -> dict[str, Any]:
    return {
        "name": f"居民{n:06d}",
        "phone": f"+86130{n:08d}",
        "community_id": community_id,
        "address": f"幸福路{n % 40}号院{n % 25 + 1}号楼{n % 6 + 1}单元{n % 30 + 101}",
        "language": "zh-CN",
        "isolation_start": TODAY - dt.timedelta(days=20),
        "isolation_days": 30,
        "lives_alone": n % 7 == 0,
        "notify_family": False,
        "created_at": NOW,
        "updated_at": NOW,
    }


def _bulk(
    db: Connection, model: Any, rows: Iterator[dict[str, Any]] | list[dict[str, Any]]
) -> None:
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) == CHUNK:
            db.execute(insert(model), batch)
            batch = []
    if batch:
        db.execute(insert(model), batch)


def _day(
    db: Connection,
    rng: random.Random,
    people: list[tuple[int, int]],
    communities: list[int],
    day: dt.date,
    back: int,
    detail_days: int,
) -> None:
    at = dt.datetime.combine(day, dt.time(9), dt.UTC) - dt.timedelta(hours=8)
    rounds = {
        cid: db.execute(
            insert(Round)
            .values(community_id=cid, local_date=day, slot="09:00", scheduled_for=at,
                    closes_at=at + dt.timedelta(hours=11), started_at=at, closed_at=at)
            .returning(Round.id)
        ).scalar_one()
        for cid in communities
    }  # fmt: skip
    plan = []
    for rid, cid in people:
        roll = rng.random()
        status = "missed" if roll < 0.05 else "partial" if roll < 0.09 else "complete"
        celsius = None if status == "missed" else Decimal(rng.choice(("36.4", "36.6", "36.8")))
        if celsius is not None and rng.random() < 0.02:
            celsius = Decimal("38.1")
        plan.append((rid, cid, status, celsius))
    _bulk(db, CheckIn, (
        {"round_id": rounds[cid], "resident_id": rid, "local_date": day, "status": status,
         "attempts": 1, "max_attempts": 3, "closes_at": at, "temperature_c": celsius,
         "symptoms": False if celsius else None, "needs": [], "reached": status != "missed",
         "finished": status == "complete", "source": "call", "closed_at": at,
         "created_at": at, "updated_at": at}
        for rid, cid, status, celsius in plan
    ))  # fmt: skip
    query = select(CheckIn.resident_id, CheckIn.id).where(CheckIn.local_date == day)
    checkins = {rid: cid for rid, cid in db.execute(query)}
    _bulk(db, CallAttempt, (
        {"code": f"b{day:%m%d}{rid}", "checkin_id": checkins[rid], "resident_id": rid,
         "attempt_no": 1, "direction": "outbound", "phone": f"+86130{rid:08d}",
         "language": "zh-CN", "state": "ended", "call_sid": f"CA{day:%m%d}{rid:028d}",
         "status": "no-answer" if status == "missed" else "completed", "last_sequence": 3,
         "duration_s": None if status == "missed" else 60,
         "outcome": "not_reached" if status == "missed" else "finished", "flow_name": "checkin",
         "deferrals": 0, "created_at": at, "placed_at": at,
         "answered_at": None if status == "missed" else at, "ended_at": at}
        for rid, _cid, status, _c in plan
    ))  # fmt: skip
    of_day = select(CheckIn.id).where(CheckIn.local_date == day)
    query = select(CallAttempt.checkin_id, CallAttempt.id).where(CallAttempt.checkin_id.in_(of_day))
    attempts = {checkin_id: attempt_id for checkin_id, attempt_id in db.execute(query)}
    answered = [(rid, c) for rid, _cid, status, c in plan if c is not None and back < detail_days]
    _bulk(db, Answer, (
        row for rid, c in answered for row in (
            {"checkin_id": checkins[rid], "attempt_id": attempts[checkins[rid]],
             "resident_id": rid, "key": "temperature_c", "value": str(c), "at": at},
            {"checkin_id": checkins[rid], "attempt_id": attempts[checkins[rid]],
             "resident_id": rid, "key": "symptoms", "value": False, "at": at},
        )
    ))  # fmt: skip
    if back < detail_days:
        _bulk(db, CallEvent, (
            {"attempt_id": attempt_id, "at": at, "kind": kind, "name": name, "detail": detail}
            for attempt_id in attempts.values()
            for kind, name, detail in EVENTS
        ))  # fmt: skip
    _escalations_and_orders(db, rng, plan, checkins, day, at, back)


def _escalations_and_orders(
    db: Connection,
    rng: random.Random,
    plan: list[tuple[int, int, str, Decimal | None]],
    checkins: dict[int, int],
    day: dt.date,
    at: dt.datetime,
    back: int,
) -> None:
    open_today = back == 0
    rows = []
    for rid, cid, status, celsius in plan:
        reason = (
            "unreachable"
            if status == "missed"
            else "fever"
            if celsius and celsius >= 37.3
            else None
        )
        if reason is None:
            continue
        resolved = not open_today
        rows.append(
            {"resident_id": rid, "community_id": cid, "checkin_id": checkins[rid],
             "reason": reason, "severity": "urgent" if rid % 7 == 0 else "high",
             "status": "resolved" if resolved else "open", "detail": reason,
             "temperature_c": celsius, "events": 1, "opened_at": at, "last_event_at": at,
             "acknowledged_by": "bench" if resolved else None,
             "acknowledged_at": at + dt.timedelta(minutes=rng.randint(2, 40)) if resolved else None,
             "resolved_by": "bench" if resolved else None,
             "resolved_at": at + dt.timedelta(hours=1) if resolved else None,
             "outcome": "visited" if resolved else None, "reminders": 0}
        )  # fmt: skip
    _bulk(db, Escalation, rows)
    _bulk(db, ServiceOrder, (
        {"resident_id": rid, "community_id": cid, "checkin_id": checkins[rid],
         "need": "groceries", "local_date": day, "status": "open" if open_today else "delivered",
         "opened_at": at, "delivered_at": None if open_today else at + dt.timedelta(hours=3)}
        for rid, cid, _s, _c in plan if rid % 97 == back % 97
    ))  # fmt: skip


def dashboard(url: str) -> Flask:
    """The app on ``url`` with a staff member of community 1 and a supervisor (made once)."""
    app = create_app(
        {"database_url": url, "carrier": "simulator", "public_url": None, "secret_key": "bench",
         "log_level": "WARNING", "twilio_auth_token": "bench"},
        clock=FixedClock(NOW), environ={},
    )  # fmt: skip
    with session_scope(app) as session:
        if session.scalar(select(Staff.id).where(Staff.phone == "+8613900000001")):
            return app
        staff = add_staff(session, "社区员", "+8613900000001", 1, "staff", NOW)
        supervisor = add_staff(session, "督导", "+8613900000002", None, "supervisor", NOW)
        for person in (staff, supervisor):
            set_password(session, person, PASSWORD, NOW, "bench")
    return app


def signed_in(app: Flask, phone: str) -> FlaskClient:
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token
    form = {"phone": phone, "password": PASSWORD, "csrf_token": token.group(1)}
    assert client.post("/login", data=form).status_code == 302
    return client


def time_page(client: FlaskClient, path: str, repeat: int) -> tuple[float, int]:
    client.get(path)  # warm: templates compiled, caches filled
    took = []
    for _ in range(repeat):
        start = time.perf_counter()
        response = client.get(path)
        took.append(time.perf_counter() - start)
        assert response.status_code == 200, (path, response.status_code)
    return statistics.median(took) * 1000, len(response.get_data())


def pages(app: Flask) -> list[tuple[str, str]]:
    with session_scope(app) as session:
        resident = session.scalar(select(Resident.id).where(Resident.community_id == 1))
        call = session.scalar(select(CallAttempt.id).where(CallAttempt.resident_id == resident))
        escalation = session.scalar(select(Escalation.id).where(Escalation.community_id == 1))
    return [
        ("staff", "/escalations"), ("staff", "/escalations/list"),
        ("staff", f"/escalations/{escalation}"), ("staff", "/orders"), ("staff", "/residents"),
        ("staff", "/residents?page=20"), ("staff", "/residents?colour=orange"),
        ("staff", "/residents?colour=green&page=5"), ("staff", f"/residents/{resident}"),
        ("staff", "/today"), ("supervisor", "/escalations"), ("supervisor", "/residents"),
        ("supervisor", "/residents?colour=red"), ("supervisor", "/residents?colour=orange"),
        ("supervisor", "/residents?colour=yellow"),
        ("supervisor", "/residents?colour=green&page=20"),
        ("supervisor", "/residents?colour=grey"), ("supervisor", "/residents?colour=pending"),
        ("supervisor", "/residents?community=2"), ("supervisor", "/residents?page=100"),
        ("supervisor", "/orders"), ("supervisor", "/today"), ("supervisor", "/calls"),
        ("supervisor", "/calls?status=no-answer"), ("supervisor", f"/calls/{call}"),
        ("supervisor", "/stats"), ("supervisor", "/stats?from=2026-10-30&to=2026-11-28"),
    ]  # fmt: skip


def run(
    kind: str,
    residents: int,
    days: int,
    communities: int,
    repeat: int,
    detail_days: int,
    reuse: str | None = None,
) -> list[list[Any]]:
    if reuse:  # a database an earlier run loaded (loading 100,000 residents takes minutes)
        return measure(kind, reuse, repeat)
    url = fresh_database(kind, "pingan_bench_pages")
    engine = make_engine(url)
    started = time.perf_counter()
    load(engine, residents, days, communities, detail_days)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as db:
        db.execute(text("ANALYZE"))  # statistics, as autovacuum keeps them in production
    engine.dispose()
    loaded = time.perf_counter() - started
    print(f"{kind}: loaded {residents} residents × {days} days in {loaded:.0f} s", flush=True)
    roll_up_closed_days(url, days)
    return measure(kind, url, repeat)


def roll_up_closed_days(url: str, days: int) -> None:
    """What the worker keeps up to date: the statistics roll-ups of every closed day."""
    app = dashboard(url)
    settings = app.extensions["pingan.settings"]
    started = time.perf_counter()
    for back in range(days - 1, 0, -1):
        with session_scope(app) as session:
            roll_up(session, TODAY - dt.timedelta(days=back), settings.tz, settings.fever_c, NOW)
    took = time.perf_counter() - started
    print(f"rolled up the statistics of {days - 1} closed days in {took:.1f} s", flush=True)
    engine_of(app).dispose()


def measure(kind: str, url: str, repeat: int) -> list[list[Any]]:
    app = dashboard(url)
    clients = {"staff": signed_in(app, "13900000001"), "supervisor": signed_in(app, "13900000002")}
    rows = []
    for who, path in pages(app):
        ms, size = time_page(clients[who], path, repeat)
        rows.append([kind, who, path, f"{ms:.0f}", f"{size // 1024}"])
    engine_of(app).dispose()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--residents", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--communities", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument(
        "--detail-days", type=int, default=30, help="days with call events and answers"
    )
    parser.add_argument("--db", default="sqlite,postgresql")
    parser.add_argument("--reuse", help="measure the database at this URL instead of loading one")
    args = parser.parse_args()
    rows = []
    for kind in args.db.split(","):
        rows += run(
            kind,
            args.residents,
            args.days,
            args.communities,
            args.repeat,
            args.detail_days,
            args.reuse,
        )
    loaded = (
        f"the database at {args.reuse}"
        if args.reuse
        else f"{args.residents} residents in {args.communities} communities, {args.days} days"
    )
    print_table(
        f"Dashboard pages, {loaded} (median of {args.repeat}, ms)",
        ["db", "as", "page", "ms", "kB"],
        rows,
    )


if __name__ == "__main__":
    main()
