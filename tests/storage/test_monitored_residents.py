"""Who is called on a given day: the SQL rule (used to start rounds) and the Python rule agree."""

from __future__ import annotations

import datetime as dt
import itertools

from sqlalchemy import select

from storage import Community, Resident, make_engine, make_sessionmaker
from storage.queries import monitored_on

NOW = dt.datetime(2026, 11, 28, 1, 0, tzinfo=dt.UTC)
DAY = dt.date(2026, 11, 28)


def test_the_sql_and_python_rules_agree_on_every_kind_of_resident(database_url: str) -> None:
    engine = make_engine(database_url)
    sessions = make_sessionmaker(engine)
    starts = [
        None,
        DAY - dt.timedelta(days=13),
        DAY - dt.timedelta(days=14),
        DAY,
        DAY + dt.timedelta(days=1),
    ]
    days = [0, 1, 14]
    holds = [None, DAY - dt.timedelta(days=1), DAY]
    flags = [(None, None), (NOW, None), (None, NOW)]
    with sessions.begin() as session:
        community = Community(name="中原社区", created_at=NOW)
        session.add(community)
        session.flush()
        for n, (start, length, hold, (released, invalid)) in enumerate(
            itertools.product(starts, days, holds, flags)
        ):
            session.add(
                Resident(
                    name=f"居民{n}",
                    phone=f"+861380000{n:04d}",
                    community_id=community.id,
                    isolation_start=start,
                    isolation_days=length,
                    hold_until=hold,
                    released_at=released,
                    phone_invalid_at=invalid,
                    created_at=NOW,
                    updated_at=NOW,
                )
            )
    with sessions.begin() as session:
        everyone = session.scalars(select(Resident)).all()
        by_sql = set(session.scalars(select(Resident.id).where(monitored_on(DAY))))
    assert by_sql == {r.id for r in everyone if r.monitored_on(DAY)}
    assert 0 < len(by_sql) < len(everyone)
    engine.dispose()


def test_the_last_day_of_a_14_day_isolation_is_monitored_and_the_next_is_not() -> None:
    resident = Resident(isolation_start=dt.date(2026, 11, 15), isolation_days=14)
    assert resident.isolation_end() == dt.date(2026, 11, 28)
    assert resident.monitored_on(dt.date(2026, 11, 28))
    assert not resident.monitored_on(dt.date(2026, 11, 29))
