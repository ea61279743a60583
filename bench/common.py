"""Shared helpers for the benchmarks: databases to run on, bulk loading, timing, tables."""

from __future__ import annotations

import datetime as dt
import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, insert, text
from sqlalchemy.engine import Engine, make_url

from storage import Community, Resident, make_engine
from storage.migrate import upgrade

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
NOW = dt.datetime(2026, 11, 28, 1, 0, tzinfo=dt.UTC)  # 09:00 in Shanghai


def fresh_database(kind: str, name: str) -> str:
    """A new, migrated database of ``kind`` (sqlite | postgresql); returns its URL."""
    if kind == "sqlite":
        path = Path(tempfile.mkdtemp(prefix="pingan-bench-")) / f"{name}.db"
        url = f"sqlite:///{path}"
    else:
        admin_url = make_url(os.environ.get("PINGAN_TEST_POSTGRES_URL", DEFAULT_PG))
        admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        url = admin_url.set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    return url


def load_residents(
    engine: Engine,
    count: int,
    communities: int = 1,
    start_phone: int = 13000000000,
    households: int | None = None,
) -> None:
    """``count`` residents spread over ``communities``, inserted in bulk; with ``households``,
    that many phones, shared by the residents in turn (100,000 in 60,000: 40,000 couples)."""
    phones = households or count
    with engine.begin() as connection:
        community_ids = []
        for n in range(communities):
            result = connection.execute(
                insert(Community).values(name=f"社区{n}", created_at=NOW).returning(Community.id)
            )
            community_ids.append(result.scalar_one())
        batch: list[dict[str, Any]] = []
        for n in range(count):
            batch.append(
                {
                    "name": f"居民{n}",
                    "phone": f"+86{start_phone + n % phones}",
                    "community_id": community_ids[n % communities],
                    "language": "zh-CN",
                    "isolation_days": 14,
                    "lives_alone": n % 7 == 0,
                    "notify_family": False,
                    "created_at": NOW,
                    "updated_at": NOW,
                }
            )
            if len(batch) == 10_000:
                connection.execute(insert(Resident), batch)
                batch = []
        if batch:
            connection.execute(insert(Resident), batch)


@contextmanager
def timed() -> Iterator[dict[str, float]]:
    result: dict[str, float] = {}
    wall, cpu = time.perf_counter(), time.process_time()
    yield result
    result["wall_s"] = time.perf_counter() - wall
    result["cpu_s"] = time.process_time() - cpu


def print_table(title: str, headers: list[str], rows: list[list[Any]]) -> None:
    from ivr.tables import format_table

    print(title)
    print(format_table(headers, rows))
    print()
