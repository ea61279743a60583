"""Local times of day → UTC instants, per community (round times and calling window)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from ivr.config import Settings, parse_times, parse_window
from storage import Community


@dataclass(frozen=True)
class Schedule:
    round_times: tuple[dt.time, ...]
    window_start: dt.time
    window_end: dt.time
    tz: ZoneInfo

    def at(self, day: dt.date, time: dt.time) -> dt.datetime:
        """The UTC instant of a local wall-clock time (end of day for 24:00)."""
        if time == dt.time.max:
            return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), self.tz).astimezone(
                dt.UTC
            )
        return dt.datetime.combine(day, time, self.tz).astimezone(dt.UTC)

    def opens(self, day: dt.date) -> dt.datetime:
        return self.at(day, self.window_start)

    def closes(self, day: dt.date) -> dt.datetime:
        return self.at(day, self.window_end)

    def in_window(self, when: dt.datetime) -> bool:
        day = self.local_date(when)
        return self.opens(day) <= when < self.closes(day)

    def local_date(self, when: dt.datetime) -> dt.date:
        return when.astimezone(self.tz).date()

    def clamp(self, day: dt.date, when: dt.datetime) -> dt.datetime:
        """``when`` moved into the day's window (a call is never due before it opens)."""
        return max(when, self.opens(day))


def schedule_for(community: Community, settings: Settings) -> Schedule:
    times = parse_times(community.round_times) if community.round_times else settings.round_times
    start, end = settings.call_window
    if community.window_start and community.window_end:
        start, end = parse_window(f"{community.window_start}-{community.window_end}")
    return Schedule(times, start, end, settings.tz)
