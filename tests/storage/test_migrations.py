"""The migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
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
