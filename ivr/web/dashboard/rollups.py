"""Daily statistics roll-ups: closed days are read from ``stats_day``, the rest counted live.

A closed local day (in PINGAN_TIMEZONE) is rolled up by counting it from the raw rows with the
very function the page uses for today (``statistics.day_stats``) and storing its rows; counting
again deletes the day's rows first, so it is idempotent and repairs anything. A day is read from
its roll-up only if it was counted with today's fever threshold and time zone and no late change
has marked it stale since (``storage.stats_stale``); any other day in the range — today, a day
not rolled up yet, a stale one — is counted from the raw rows, so the page is always right and
only its speed depends on the roll-ups being there. The worker rolls up closed days every
minute (``Jobs.roll_up_stats``); ``pingan stats rollup`` counts a range again by hand.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from ivr.web.dashboard.statistics import DayStats, day_stats
from storage import Community, StatsDay, StatsDayDone, StatsDayStale

# A day is rolled up this long after its local midnight, so that a change written just before
# midnight by a process whose clock is a little behind is in it (later ones leave a mark).
SETTLE = dt.timedelta(minutes=10)
FIGURES = (
    "monitored", "answered", "fevers", "missed", "escalations_opened", "escalations_resolved",
    "median_ack_minutes", "orders_opened", "orders_delivered",
)  # fmt: skip


def stats_rows(
    session: Session,
    day_from: dt.date,
    day_to: dt.date,
    tz: dt.tzinfo,
    fever_c: Decimal,
    community_id: int | None,
) -> list[DayStats]:
    """What ``day_stats`` returns, reading the roll-ups of the days that have a fresh one."""
    fresh = _fresh_days(session, day_from, day_to, tz, fever_c)
    rows = _rolled_up(session, fresh, community_id)
    for first, last in _runs(day_from, day_to, fresh):
        rows += day_stats(session, first, last, tz, fever_c, community_id)
    return sorted(rows, key=lambda s: (s.day, s.community))


def roll_up(
    session: Session, day: dt.date, tz: dt.tzinfo, fever_c: Decimal, now: dt.datetime
) -> int:
    """Count ``day`` again from the raw rows and store it; returns its community rows."""
    session.execute(delete(StatsDayStale).where(StatsDayStale.local_date == day))
    session.execute(delete(StatsDay).where(StatsDay.local_date == day))
    session.execute(delete(StatsDayDone).where(StatsDayDone.local_date == day))
    ids = {name: cid for cid, name in session.execute(select(Community.id, Community.name))}
    rows = day_stats(session, day, day, tz, fever_c, None)
    if rows:
        values = [
            {"local_date": day, "community_id": ids[r.community],
             **{f: getattr(r, f) for f in FIGURES}}
            for r in rows
        ]  # fmt: skip
        session.execute(insert(StatsDay), values)
    done = {"local_date": day, "fever_c": fever_c, "time_zone": str(tz), "computed_at": now}
    session.execute(insert(StatsDayDone).values(done))
    return len(rows)


def days_to_roll_up(
    session: Session, tz: dt.tzinfo, fever_c: Decimal, now: dt.datetime, back_days: int
) -> list[dt.date]:
    """Closed days of the last ``back_days`` without a fresh roll-up, and older stale ones,
    newest first (the ones supervisors look at)."""
    last = (now - SETTLE).astimezone(tz).date() - dt.timedelta(days=1)
    first = last - dt.timedelta(days=back_days - 1)
    fresh = _fresh_days(session, first, last, tz, fever_c)
    recent = {first + dt.timedelta(days=n) for n in range(back_days)} - fresh
    stale = set(session.scalars(select(StatsDayStale.local_date).where(
        StatsDayStale.local_date <= last
    )))  # fmt: skip
    return sorted(recent | stale, reverse=True)


def _fresh_days(
    session: Session, day_from: dt.date, day_to: dt.date, tz: dt.tzinfo, fever_c: Decimal
) -> set[dt.date]:
    stale = select(StatsDayStale.local_date).where(
        StatsDayStale.local_date.between(day_from, day_to)
    )
    query = select(StatsDayDone.local_date).where(
        StatsDayDone.local_date.between(day_from, day_to),
        StatsDayDone.fever_c == fever_c,
        StatsDayDone.time_zone == str(tz),
        StatsDayDone.local_date.not_in(stale),
    )
    return set(session.scalars(query))


def _rolled_up(session: Session, days: set[dt.date], community_id: int | None) -> list[DayStats]:
    if not days:
        return []
    query = (
        select(Community.name, StatsDay)
        .join(Community, Community.id == StatsDay.community_id)
        .where(StatsDay.local_date.in_(sorted(days)))
    )
    if community_id is not None:
        query = query.where(StatsDay.community_id == community_id)
    return [
        DayStats(name, row.local_date, **{f: getattr(row, f) for f in FIGURES})
        for name, row in session.execute(query)
    ]


def _runs(day_from: dt.date, day_to: dt.date, skip: set[dt.date]) -> list[tuple[dt.date, dt.date]]:
    """The stretches of consecutive days in the range that are not in ``skip``."""
    runs: list[tuple[dt.date, dt.date]] = []
    day = day_from
    while day <= day_to:
        if day not in skip:
            if runs and runs[-1][1] == day - dt.timedelta(days=1):
                runs[-1] = (runs[-1][0], day)
            else:
                runs.append((day, day))
        day += dt.timedelta(days=1)
    return runs
