"""Statistics count residents, not calls: two rounds in a day are one resident-day."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from ivr.db import session_scope
from ivr.web.dashboard.statistics import day_stats
from storage import CheckIn, Escalation
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


def escalation(app, resident_id: int, reason: str, opened: dt.datetime, **fields) -> None:
    community_id = add_community(app)
    with session_scope(app) as session:
        session.add(
            Escalation(
                resident_id=resident_id, community_id=community_id, reason=reason,
                severity="high", status="resolved" if fields.get("resolved_at") else "open",
                opened_at=opened, last_event_at=opened, **fields,
            )
        )  # fmt: skip


def local(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 11, day, hour, minute, tzinfo=SHANGHAI)


def test_escalations_count_on_the_local_day_they_opened_and_were_resolved(app) -> None:
    rid = add_resident(app, "王秀英", "+8613803710101", "中原社区")
    # 23:30 in Shanghai is 15:30 UTC: the 27th locally, whatever UTC's date.
    escalation(app, rid, "fever", local(27, 23, 30), acknowledged_at=local(27, 23, 40),
               resolved_at=local(28, 0, 10))  # fmt: skip
    escalation(app, rid, "no_response", local(28, 0, 5), acknowledged_at=local(28, 0, 25))
    escalation(app, rid, "unreachable", local(28, 9), acknowledged_at=local(28, 10))
    escalation(app, rid, "callback_requested", local(28, 23, 59))  # never acknowledged
    escalation(app, rid, "low_temperature", local(26, 23, 59), resolved_at=local(27, 0, 1))
    fever_c = app.extensions["pingan.settings"].fever_c
    with session_scope(app) as session:
        rows = day_stats(session, local(27, 0).date(), local(28, 0).date(), SHANGHAI, fever_c, None)
    shown = {
        s.day.day: (s.escalations_opened, s.escalations_resolved, s.median_ack_minutes)
        for s in rows
    }
    # The 27th: one opened (acknowledged after 10 min), one opened the day before resolved.
    # The 28th: three opened, acknowledged after 20 and 60 min; the 27th's resolved.
    assert shown == {27: (1, 1, 10.0), 28: (3, 1, 40.0)}
