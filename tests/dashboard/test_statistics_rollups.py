"""Closed days' statistics come from daily roll-ups that always equal a recount of the raw rows."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from ivr.cli import Pingan, cli
from ivr.db import session_scope
from ivr.web.dashboard.rollups import roll_up as roll_day
from ivr.web.dashboard.rollups import stats_rows
from ivr.web.dashboard.statistics import day_stats
from ivr.worker.jobs import Jobs
from storage import CheckIn, Escalation, Resident, Round, ServiceOrder, StatsDay, StatsDayStale
from tests.conftest import SHANGHAI
from tests.helpers import add_community, add_resident, statistics_and_recounted

TODAY = dt.date(2026, 11, 28)  # the clock fixture's day
DAYS = [TODAY - dt.timedelta(days=n) for n in (3, 2, 1, 0)]


def local(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), SHANGHAI)


def a_round(app, community_id: int, day: dt.date, slot: str) -> int:
    with session_scope(app) as session:
        found = session.scalar(
            select(Round.id).where(
                Round.community_id == community_id, Round.local_date == day, Round.slot == slot
            )
        )
        if found:
            return found
        row = Round(
            community_id=community_id, local_date=day, slot=slot, scheduled_for=local(day, 9),
            closes_at=local(day, 12), started_at=local(day, 9),
        )  # fmt: skip
        session.add(row)
        session.flush()
        return row.id


def checkin(
    app, resident_id: int, day: dt.date, status: str, celsius: str | None, slot: str = "09:00"
) -> int:
    with session_scope(app) as session:
        community_id = session.get(Resident, resident_id).community_id
    round_id = a_round(app, community_id, day, slot)
    with session_scope(app) as session:
        row = CheckIn(
            round_id=round_id, resident_id=resident_id, local_date=day, status=status,
            closes_at=local(day, 12), temperature_c=Decimal(celsius) if celsius else None,
            reached=status != "missed" and status != "pending", needs=[],
            created_at=local(day, 9), updated_at=local(day, 9),
        )  # fmt: skip
        session.add(row)
        session.flush()
        return row.id


def escalation(app, resident_id: int, opened: dt.datetime, **fields) -> int:
    with session_scope(app) as session:
        community_id = session.get(Resident, resident_id).community_id
        row = Escalation(
            resident_id=resident_id, community_id=community_id, reason=fields.pop("reason"),
            severity="high", status="resolved" if fields.get("resolved_at") else "open",
            opened_at=opened, last_event_at=opened, **fields,
        )  # fmt: skip
        session.add(row)
        session.flush()
        return row.id


def order(app, resident_id: int, day: dt.date, **fields) -> None:
    with session_scope(app) as session:
        community_id = session.get(Resident, resident_id).community_id
        session.add(
            ServiceOrder(
                resident_id=resident_id, community_id=community_id, need="groceries",
                local_date=day, opened_at=local(day, 10), **fields,
            )
        )  # fmt: skip


@pytest.fixture
def district(app) -> dict[str, int]:
    """Three days of two communities: fevers, missed calls, escalations and orders."""
    ids = {
        "王秀英": add_resident(app, "王秀英", "+8613803710101", "中原社区"),
        "李建国": add_resident(app, "李建国", "+8613803710102", "中原社区"),
        "张伟": add_resident(app, "张伟", "+8613803710103", "祥和社区"),
    }
    for day in DAYS:
        checkin(app, ids["王秀英"], day, "complete", "36.6")
        checkin(app, ids["李建国"], day, "complete", "38.2" if day.day % 2 else "36.9")
        checkin(app, ids["张伟"], day, "missed", None)
        escalation(app, ids["张伟"], local(day, 12, 5), reason="unreachable",
                   acknowledged_at=local(day, 12, 25), resolved_at=local(day, 15))  # fmt: skip
        order(app, ids["王秀英"], day, delivered_at=local(day, 17), status="delivered")
    return ids


def roll_up(app) -> int:
    return Jobs(app, worker="test-worker").roll_up_stats()


def stored(app) -> list[tuple]:
    with session_scope(app) as session:
        rows = session.scalars(
            select(StatsDay).order_by(StatsDay.local_date, StatsDay.community_id)
        )
        return [
            (r.local_date, r.community_id, r.monitored, r.fevers, r.missed,
             r.escalations_opened, r.median_ack_minutes, r.orders_delivered)
            for r in rows
        ]  # fmt: skip


def test_closed_days_are_rolled_up_and_show_what_the_raw_rows_say(app, district) -> None:
    assert roll_up(app) == 10  # up to ten of the last 92 closed days per run
    roll_up(app)
    days = {row[0] for row in stored(app)}
    assert DAYS[:3] == sorted(days)[-3:] and TODAY not in days  # today is always counted live
    shown, recounted = statistics_and_recounted(app, DAYS[0], TODAY)
    assert shown == recounted
    assert [(s.day, s.community, s.monitored, s.fevers) for s in shown if s.day == DAYS[2]] == [
        (DAYS[2], "中原社区", 2, 1), (DAYS[2], "祥和社区", 1, 0),
    ]  # fmt: skip


def test_rolling_a_day_up_again_changes_nothing(app, district) -> None:
    roll_up(app)
    before = stored(app)
    result = CliRunner().invoke(
        cli, ["stats", "rollup", "--from", str(DAYS[0]), "--to", str(TODAY)], obj=Pingan(app)
    )
    assert result.exit_code == 0, result.output
    assert "rolled up 3 days" in result.output  # today is not closed: not rolled up
    assert stored(app) == before


def test_an_escalation_acknowledged_after_midnight_recounts_the_day_it_opened(
    app, district, clock
) -> None:
    yesterday = DAYS[2]
    late = escalation(app, district["王秀英"], local(yesterday, 23, 50), reason="fever")
    roll_up(app)
    with session_scope(app) as session:  # 00:10 today: acknowledged 20 minutes after it opened
        row = session.get(Escalation, late)
        row.acknowledged_at, row.status = local(TODAY, 0, 10), "acknowledged"
    shown, recounted = statistics_and_recounted(app, yesterday, yesterday)
    assert shown == recounted  # the stale roll-up is not read: the day is counted live
    assert {s.community: s.median_ack_minutes for s in shown}["中原社区"] == 20.0
    roll_up(app)
    with session_scope(app) as session:
        assert session.scalars(select(StatsDayStale)).all() == []
    assert statistics_and_recounted(app, yesterday, yesterday) == (recounted, recounted)


def test_a_late_answer_to_last_nights_check_in_counts_on_its_day(app, district) -> None:
    yesterday = DAYS[2]
    late = checkin(app, district["张伟"], yesterday, "pending", None, slot="20:00")
    roll_up(app)
    with session_scope(app) as session:  # the sweeper closes it after midnight, with a fever
        row = session.get(CheckIn, late)
        row.status, row.temperature_c, row.reached = "partial", Decimal("38.5"), True
    shown, recounted = statistics_and_recounted(app, yesterday, yesterday)
    assert shown == recounted
    assert {s.community: (s.answered, s.fevers) for s in shown}["祥和社区"] == (1, 1)
    roll_up(app)
    assert statistics_and_recounted(app, yesterday, yesterday) == (recounted, recounted)


def test_an_escalation_resolved_today_counts_today_and_leaves_closed_days_alone(
    app, district
) -> None:
    open_one = escalation(app, district["李建国"], local(DAYS[1], 10), reason="fever",
                          acknowledged_at=local(DAYS[1], 10, 30))  # fmt: skip
    roll_up(app)
    with session_scope(app) as session:
        row = session.get(Escalation, open_one)
        row.resolved_at, row.status = local(TODAY, 9), "resolved"
    with session_scope(app) as session:
        marked = session.scalars(select(StatsDayStale.local_date)).all()
    assert marked == [DAYS[1]]  # its day is recounted (nothing there changes)
    shown, recounted = statistics_and_recounted(app, DAYS[0], TODAY)
    assert shown == recounted
    today = {s.community: s.escalations_resolved for s in shown if s.day == TODAY}
    assert today["中原社区"] == 1


def test_a_moved_resident_stays_counted_where_they_were_monitored(app, district) -> None:
    roll_up(app)
    before = stored(app)
    elsewhere = add_community(app, "祥和社区")
    with session_scope(app) as session:
        session.get(Resident, district["李建国"]).community_id = elsewhere
    shown, recounted = statistics_and_recounted(app, DAYS[0], DAYS[2])
    assert shown == recounted and stored(app) == before
    assert {s.community: s.monitored for s in shown if s.day == DAYS[2]} == {
        "中原社区": 2, "祥和社区": 1,
    }  # fmt: skip


@pytest.mark.parametrize("settings_overrides", [{"fever_c": Decimal("38.3")}])
def test_another_fever_threshold_counts_the_days_again(app, district) -> None:
    settings = app.extensions["pingan.settings"]
    with session_scope(app) as session:  # rolled up before the threshold was raised
        roll_day(session, DAYS[2], settings.tz, Decimal("37.3"), local(TODAY, 1))
    with session_scope(app) as session:
        shown = stats_rows(session, DAYS[2], DAYS[2], settings.tz, settings.fever_c, None)
        recounted = day_stats(session, DAYS[2], DAYS[2], settings.tz, settings.fever_c, None)
    assert shown == recounted and all(s.fevers == 0 for s in shown)


def test_one_community_sees_its_own_rolled_up_days(app, district) -> None:
    roll_up(app)
    xianghe = add_community(app, "祥和社区")
    settings = app.extensions["pingan.settings"]
    with session_scope(app) as session:
        shown = stats_rows(session, DAYS[0], TODAY, settings.tz, settings.fever_c, xianghe)
        recounted = day_stats(session, DAYS[0], TODAY, settings.tz, settings.fever_c, xianghe)
    assert shown == recounted and {s.community for s in shown} == {"祥和社区"}
    assert len(shown) == 4
