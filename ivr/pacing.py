"""Dialing pace shared by every worker: slots are reserved in one database row.

Each worker reserves a batch of slots ``interval`` apart in a single transaction, then fires each
call no earlier than its slot. A worker that fell behind (a slow database, a busy CPU) may catch
up, but never faster than the rate over any sliding window: it never bursts above the setting.
"""

from __future__ import annotations

from collections import deque

from sqlalchemy.orm import Session, sessionmaker

from ivr.clock import Clock
from storage import SystemState

PACE_KEY = "dial_pace"
# Slots are 0.5% wider than 1/rate: network jitter between our clock and the carrier's must never
# push the rate the carrier sees above the setting (the measured rate stays within 2%).
MARGIN = 1.005


class Pacer:
    def __init__(self, sessions: sessionmaker[Session], clock: Clock, per_second: float) -> None:
        self._sessions = sessions
        self._clock = clock
        self.interval = MARGIN / per_second
        # At most ``_burst`` calls in any ``_window`` seconds (one second, or one interval if
        # that is longer): the rate over every window stays at or below the setting.
        self._window = max(1.0, 1.0 / per_second) * MARGIN
        self._burst = max(1, round(per_second * self._window / MARGIN))
        self._fired: deque[float] = deque(maxlen=self._burst)

    def reserve(self, count: int) -> list[float]:
        """``count`` consecutive slots (epoch seconds), reserved for this worker alone."""
        if count <= 0:
            return []
        with self._sessions.begin() as session:
            row = session.get(SystemState, PACE_KEY, with_for_update=True)
            if row is None:
                row = SystemState(key=PACE_KEY, value="0")
                session.add(row)
                session.flush()
            start = max(float(row.value or 0), self._clock.now().timestamp())
            row.value = repr(start + count * self.interval)
            row.at = self._clock.now()
        return [start + n * self.interval for n in range(count)]

    def wait(self, slot: float) -> None:
        """Sleep until the call for ``slot`` may be placed."""
        earliest = slot
        if len(self._fired) == self._burst:
            earliest = max(earliest, self._fired[0] + self._window)
        self._clock.sleep(earliest - self._clock.now().timestamp())
        self._fired.append(max(earliest, self._clock.now().timestamp()))
