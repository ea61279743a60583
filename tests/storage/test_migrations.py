"""The migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
from contextlib import ExitStack
from decimal import Decimal
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import select, text
from sqlalchemy.pool import NullPool

from storage import Base, Resident, make_engine
from storage.migrate import current_revision, head_revision, upgrade
from tests.processes import fresh_postgres


def test_a_migrated_database_matches_the_models(database_url: str) -> None:
    engine = make_engine(database_url)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []
    assert current_revision(engine) == head_revision()
    engine.dispose()


def test_upgrading_twice_changes_nothing(database_url: str) -> None:
    engine = make_engine(database_url)
    upgrade(engine)
    assert current_revision(engine) == head_revision()
    engine.dispose()


def test_the_upgrade_to_0004_fills_each_day_summary_from_the_stored_check_ins(
    db_kind: str, tmp_path: Path
) -> None:
    with ExitStack() as stack:
        if db_kind == "sqlite":
            url = f"sqlite:///{tmp_path / 'old.db'}"
            upgrade(make_engine(url, poolclass=NullPool), "0003")
        else:
            url = stack.enter_context(fresh_postgres("0003"))
        engine = make_engine(url)
        with engine.begin() as db:  # a district that was running on 0003
            for statement in OLD_ROWS:
                db.execute(text(statement))
        upgrade(engine)
        with engine.connect() as db:
            query = select(
                Resident.id,
                Resident.day_date,
                Resident.day_max_temperature_c,
                Resident.day_last_closed,
            )
            summaries = [tuple(row) for row in db.execute(query.order_by(Resident.id))]
        engine.dispose()
    assert summaries == [
        (1, dt.date(2026, 11, 28), Decimal("37.9"), "missed"),  # the later round was missed
        (2, dt.date(2026, 11, 27), None, "complete"),
        (3, None, None, None),  # never called
    ]


NOW = "'2026-11-28 01:00:00+00:00'"
OLD_ROWS = [
    f"INSERT INTO community (id, name, created_at) VALUES (1, '中原社区', {NOW})",
    *(
        "INSERT INTO resident (id, name, phone, community_id, language, isolation_days, "
        f"lives_alone, notify_family, created_at, updated_at) VALUES ({n}, '居民{n}', "
        f"'+861380371010{n}', 1, 'zh-CN', 14, false, false, {NOW}, {NOW})"
        for n in (1, 2, 3)
    ),
    *(
        "INSERT INTO checkin (id, resident_id, local_date, status, attempts, max_attempts, "
        "closes_at, priority, temperature_c, needs, callback_requested, reached, finished, "
        f"source, created_at, updated_at) VALUES ({n}, {rid}, '{day}', '{status}', 1, 3, {NOW}, "
        f"0, {celsius}, '[]', false, true, true, 'call', {NOW}, {NOW})"
        for n, rid, day, status, celsius in (
            (1, 1, "2026-11-27", "complete", "39.5"),  # yesterday's fever is not today's
            (2, 1, "2026-11-28", "complete", "37.9"),
            (3, 1, "2026-11-28", "missed", "NULL"),
            (4, 2, "2026-11-27", "complete", "NULL"),
        )
    ),
]


def test_the_upgrade_to_0009_reads_the_english_lines_of_stored_escalations_into_facts(
    db_kind: str, tmp_path: Path
) -> None:
    with ExitStack() as stack:
        if db_kind == "sqlite":
            url = f"sqlite:///{tmp_path / 'old.db'}"
            upgrade(make_engine(url, poolclass=NullPool), "0008")
        else:
            url = stack.enter_context(fresh_postgres("0008"))
        engine = make_engine(url)
        with engine.begin() as db:  # escalations as the system wrote them before 0009
            for statement in OLD_ROWS[:2]:
                db.execute(text(statement))
            for n, (reason, detail) in enumerate(OLD_DETAILS.items(), 1):
                db.execute(
                    text(
                        "INSERT INTO escalation (id, resident_id, community_id, reason, severity, "
                        "status, detail, temperature_confirmed, events, opened_at, last_event_at, "
                        f"reminders) VALUES ({n}, 1, 1, :reason, 'high', 'open', :detail, true, "
                        f"1, {NOW}, {NOW}, 0)"
                    ),
                    {"reason": reason, "detail": detail},
                )
        upgrade(engine)
        with engine.connect() as db:
            rows = db.execute(text("SELECT reason, facts FROM escalation ORDER BY id")).all()
        engine.dispose()
    facts = {reason: json.loads(f) if isinstance(f, str) else f for reason, f in rows}
    assert facts == OLD_FACTS


OLD_DETAILS = {
    "high_fever": "38.5 °C ≥ 38.5 °C (unconfirmed)\n39.0 °C ≥ 38.5 °C",
    "low_temperature": "34.8 °C < 35.0 °C",
    "rising_temperature": "37.8 °C, up 0.6 °C from 37.2 °C",
    "symptoms": "symptoms = yes",
    "unreachable": "attempt 1 22:52: no-answer; attempt 2 23:02: completed (machine_start); "
    "call-back 23:30: completed (hung_up)\nno call could be placed",
    "no_response": "attempt 1 09:01: failed [31005]",
    "bad_phone": "the carrier cannot call +8613803710403: 21211 The 'To' number is not valid",
    "callback_requested": "pressed 0 at the greeting",
}
OLD_FACTS = {
    "high_fever": [
        {"kind": "temperature", "value": "38.5", "op": "≥", "limit": "38.5", "unconfirmed": True},
        {"kind": "temperature", "value": "39.0", "op": "≥", "limit": "38.5"},
    ],
    "low_temperature": [{"kind": "temperature", "value": "34.8", "op": "<", "limit": "35.0"}],
    "rising_temperature": [{"kind": "rising", "value": "37.8", "previous": "37.2"}],
    "symptoms": [{"kind": "answer", "key": "symptoms", "value": True}],
    "unreachable": [
        {
            "kind": "attempts",
            "calls": [
                {
                    "inbound": False,
                    "no": 1,
                    "local": "22:52",
                    "status": "no-answer",
                    "answered_by": None,
                    "outcome": None,
                    "error": None,
                },
                {
                    "inbound": False,
                    "no": 2,
                    "local": "23:02",
                    "status": "completed",
                    "answered_by": "machine_start",
                    "outcome": None,
                    "error": None,
                },
                {
                    "inbound": True,
                    "no": None,
                    "local": "23:30",
                    "status": "completed",
                    "answered_by": None,
                    "outcome": "hung_up",
                    "error": None,
                },
            ],
        },
        {"kind": "attempts", "calls": []},
    ],
    "no_response": [
        {
            "kind": "attempts",
            "calls": [
                {
                    "inbound": False,
                    "no": 1,
                    "local": "09:01",
                    "status": "failed",
                    "answered_by": None,
                    "outcome": None,
                    "error": "31005",
                },
            ],
        }
    ],
    "bad_phone": [
        {"kind": "carrier_refused", "code": 21211, "message": "The 'To' number is not valid"}
    ],
    "callback_requested": [{"kind": "text", "text": "pressed 0 at the greeting"}],
}
