"""Each resident's day summary (the dashboard's colour cache) follows their check-ins."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from ivr.db import engine as engine_of
from ivr.db import session_scope
from storage import CheckIn, Resident
from storage.day_summary import refresh_all
from tests.helpers import add_resident

TODAY = dt.date(2026, 11, 28)
YESTERDAY = TODAY - dt.timedelta(days=1)


def add_checkin(app, resident_id: int, day: dt.date = TODAY, **fields) -> int:
    now = app.extensions["pingan.clock"].now()
    with session_scope(app) as session:
        row = CheckIn(
            resident_id=resident_id, local_date=day, closes_at=now, needs=[],
            created_at=now, updated_at=now, **fields,
        )  # fmt: skip
        session.add(row)
        session.flush()
        return row.id


def change(app, checkin_id: int, **fields) -> None:
    with session_scope(app) as session:
        row = session.get(CheckIn, checkin_id)
        for name, value in fields.items():
            setattr(row, name, value)


def summary(app, resident_id: int) -> tuple:
    with session_scope(app) as session:
        row = session.get(Resident, resident_id, populate_existing=True)
        return row.day_date, row.day_max_temperature_c, row.day_last_closed


def test_a_fever_keyed_mid_call_shows_before_the_call_ends(app) -> None:
    rid = add_resident(app, "王秀英", "+8613803710101")
    checkin = add_checkin(app, rid)
    assert summary(app, rid) == (None, None, None)  # a pending check-in says nothing yet
    change(app, checkin, temperature_c=Decimal("38.2"))
    assert summary(app, rid) == (TODAY, Decimal("38.2"), None)
    change(app, checkin, status="partial")  # hung up after the temperature
    assert summary(app, rid) == (TODAY, Decimal("38.2"), "partial")


def test_the_days_last_closed_check_in_and_hottest_temperature_count(app) -> None:
    rid = add_resident(app, "王秀英", "+8613803710101")
    add_checkin(app, rid, status="complete", temperature_c=Decimal("37.8"))
    later = add_checkin(app, rid)
    change(app, later, status="missed")  # the afternoon round got no answer
    assert summary(app, rid) == (TODAY, Decimal("37.8"), "missed")


def test_a_late_close_of_yesterdays_check_in_leaves_today_alone(app) -> None:
    rid = add_resident(app, "王秀英", "+8613803710101")
    last_night = add_checkin(app, rid, day=YESTERDAY)
    add_checkin(app, rid, status="complete", temperature_c=Decimal("36.5"))
    change(app, last_night, status="missed", temperature_c=Decimal("39.0"))
    assert summary(app, rid) == (TODAY, Decimal("36.5"), "complete")


def test_a_new_day_starts_a_new_summary(app) -> None:
    rid = add_resident(app, "王秀英", "+8613803710101")
    add_checkin(app, rid, day=YESTERDAY, status="missed", temperature_c=Decimal("38.5"))
    add_checkin(app, rid, status="complete", temperature_c=Decimal("36.6"))
    assert summary(app, rid) == (TODAY, Decimal("36.6"), "complete")


def test_a_redelivered_answer_changes_nothing(app) -> None:
    rid = add_resident(app, "王秀英", "+8613803710101")
    checkin = add_checkin(app, rid, status="complete", temperature_c=Decimal("36.6"))
    change(app, checkin, temperature_c=Decimal("36.6"), status="complete")
    assert summary(app, rid) == (TODAY, Decimal("36.6"), "complete")


def test_a_bulk_repair_rebuilds_every_summary_from_the_check_ins(app) -> None:
    ids = [add_resident(app, f"居民{n}", f"+86138037101{n:02d}") for n in range(3)]
    add_checkin(app, ids[0], status="complete", temperature_c=Decimal("36.6"))
    add_checkin(app, ids[1], day=YESTERDAY, status="missed")
    before = [summary(app, rid) for rid in ids]
    with session_scope(app) as session:  # a bulk load, or a hand edit, that skipped the cache
        for rid in ids:
            session.get(Resident, rid).day_date = None
    with engine_of(app).begin() as connection:
        refresh_all(connection)
    assert [summary(app, rid) for rid in ids] == before
    assert before == [
        (TODAY, Decimal("36.6"), "complete"), (YESTERDAY, None, "missed"), (None, None, None),
    ]  # fmt: skip
