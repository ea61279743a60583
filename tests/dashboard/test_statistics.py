"""Statistics count residents, not calls: two rounds in a day are one resident-day."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from ivr.dashboard.statistics import day_stats
from ivr.db import session_scope
from storage import CheckIn
from tests.conftest import SHANGHAI
from tests.helpers import add_community, add_resident

TODAY = dt.date(2026, 11, 28)


def checkin(app, resident_id: int, status: str, celsius: str | None, reached: bool) -> None:
    now = app.extensions["pingan.clock"].now()
    with session_scope(app) as session:
        session.add(
            CheckIn(
                resident_id=resident_id, local_date=TODAY, status=status, closes_at=now,
                temperature_c=Decimal(celsius) if celsius else None, reached=reached, needs=[],
                created_at=now, updated_at=now,
            )
        )  # fmt: skip


def test_two_rounds_count_one_resident_and_a_community_counts_only_its_own(app) -> None:
    fevered = add_resident(app, "王秀英", "+8613803710101", "中原社区")
    missed_once = add_resident(app, "李建国", "+8613803710102", "中原社区")
    elsewhere = add_resident(app, "张伟", "+8613803710103", "祥和社区")
    checkin(app, fevered, "complete", "37.9", reached=True)  # the morning round
    checkin(app, fevered, "complete", "38.1", reached=True)  # the afternoon round
    checkin(app, missed_once, "missed", None, reached=False)
    checkin(app, missed_once, "complete", "36.5", reached=True)
    checkin(app, elsewhere, "missed", None, reached=False)
    fever_c = app.extensions["pingan.settings"].fever_c
    xianghe = add_community(app, "祥和社区")
    with session_scope(app) as session:
        everyone = day_stats(session, TODAY, TODAY, SHANGHAI, fever_c, None)
        one = day_stats(session, TODAY, TODAY, SHANGHAI, fever_c, xianghe)
    counts = {s.community: (s.monitored, s.answered, s.fevers, s.missed) for s in everyone}
    assert counts == {"中原社区": (2, 2, 1, 1), "祥和社区": (1, 0, 0, 1)}
    assert [(s.community, s.monitored, s.missed) for s in one] == [("祥和社区", 1, 1)]
