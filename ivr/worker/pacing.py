"""Dialing pace shared by every worker: each call is permitted in one database row.

Before placing a call a worker takes a permit in a short transaction on the ``dial_pace`` row,
which remembers when the last calls were permitted (by any worker). A permit is granted, and
its time recorded, only if

* fewer than ``rate`` calls were permitted in the window before it (one second, or one interval
  if that is longer): the rate holds for all workers together, in every sliding window, by
  construction, however late a worker wakes up;
* its turn in the schedule has come (one ``interval`` after the previous turn), so that calls
  are spread evenly rather than fired in bursts at the start of each second; a worker that woke
  a little late may make up missed turns, but never closer than half an interval apart.

(Slots reserved ahead and fired without asking again, as before, let a worker woken a few ms
late either crowd another worker's second or waste its slot.) A permit costs well under a
millisecond: a dial run keeps one connection for its permits instead of one per call.
"""

from __future__ import annotations

import contextlib
import json
import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from ivr.clock import Clock
from storage import SystemState

PACE_KEY = "dial_pace"
# Turns are 0.5% wider than 1/rate: network jitter between our clock and the carrier's must never
# push the rate the carrier sees above the setting (the measured rate stays within 2%).
MARGIN = 1.005
# Missed turns are made up only this far back: a worker woken late catches up, but after a
# pause dialing restarts at an even pace instead of in a burst.
CATCH_UP_S = 0.25
# Float timestamps and clocks that count in µs: a turn this close is a turn that has come.
EPSILON_S = 2e-6

_KEY = SystemState.key == PACE_KEY

Take = Callable[[Connection, float], bool]


class Pacer:
    def __init__(self, sessions: sessionmaker[Session], clock: Clock, per_second: float) -> None:
        self._engine: Engine = sessions.kw["bind"]
        self._clock = clock
        self.interval = MARGIN / per_second
        # At most ``_burst`` calls in any ``_window`` seconds (one second, or one interval if
        # that is longer): the rate over every window stays at or below the setting. (The
        # window needs no margin: it counts recorded permits, and the turns have one.)
        self._window = max(1.0, 1.0 / per_second)
        self._burst = max(1, math.floor(per_second * self._window + 1e-9))

    @contextmanager
    def permits(self) -> Iterator[Callable[[Take | None], float | None]]:
        """For one dial run: a function that waits for the next permit and returns its time.

        ``take(connection, granted)`` runs in the permit's own transaction, just before the
        permit is recorded: when it returns False the permit is not taken and None is returned
        (the dialer re-asserts its claim on the call there, at no extra round trip).
        """
        with self._engine.connect() as connection:
            self._ensure_row(connection)

            def permit(take: Take | None = None) -> float | None:
                while True:
                    granted, wait = self._try(connection, take)
                    if granted is not None or wait < 0:
                        return granted
                    self._clock.sleep(wait)

            yield permit

    def permit(self) -> float:
        """A single permit (the first call of a run, ``pingan call``)."""
        with self.permits() as permit:
            granted = permit(None)
            assert granted is not None
            return granted

    def _ensure_row(self, connection: Connection) -> None:
        """The row exists from the first permit on (two workers may race to create it)."""
        with contextlib.suppress(IntegrityError), connection.begin():
            if connection.execute(select(SystemState.key).where(_KEY)).first() is None:
                connection.execute(insert(SystemState).values(key=PACE_KEY, value=None))

    def _try(self, connection: Connection, take: Take | None) -> tuple[float | None, float]:
        """One attempt: (time granted, 0), (None, seconds until a permit may be granted), or
        (None, -1) when ``take`` declined the permit."""
        with connection.begin():
            value = connection.execute(
                select(SystemState.value).where(_KEY).with_for_update()
            ).scalar()
            recent, turn = _load(value)
            recent = recent[-self._burst :]
            now = self._clock.now().timestamp()
            opens = max(turn, recent[-1] + self.interval / 2 if recent else 0.0)
            if len(recent) == self._burst:
                opens = max(opens, recent[0] + self._window)
            if opens - now > EPSILON_S:
                return None, opens - now
            granted = max(now, opens)  # never recorded before it was allowed
            if take is not None and not take(connection, granted):
                return None, -1.0
            recent.append(granted)
            caught_up = turn if turn >= granted - CATCH_UP_S else granted
            state = {"turn": caught_up + self.interval, "recent": recent[-self._burst :]}
            connection.execute(
                update(SystemState)
                .where(_KEY)
                .values(value=json.dumps(state), at=self._clock.now())
            )
        return granted, 0.0


def _load(value: str | None) -> tuple[list[float], float]:
    """The recent permits and the next turn stored in the row (nothing yet: none)."""
    try:
        state = json.loads(value or "")
        return [float(t) for t in state["recent"]], float(state["turn"])
    except (ValueError, TypeError, KeyError):  # no row yet, or the previous design's number
        return [], 0.0
