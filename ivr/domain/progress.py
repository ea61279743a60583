"""How far each round has got: pending, dialing, in call, complete, partial, missed."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage import CallAttempt, CheckIn, Community, Round

PHASES = ("pending", "dialing", "in_call", "complete", "partial", "missed")


@dataclass
class RoundProgress:
    round_id: int
    community: str
    slot: str
    local_date: dt.date
    closed: bool
    counts: Counter[str] = field(default_factory=Counter)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def done(self) -> int:
        return self.counts["complete"] + self.counts["partial"] + self.counts["missed"]

    def bar(self, width: int = 24) -> str:
        filled = round(width * self.done / self.total) if self.total else width
        return "█" * filled + "░" * (width - filled)


def round_progress(session: Session, day: dt.date) -> list[RoundProgress]:
    rounds = session.execute(
        select(Round, Community.name)
        .join(Community)
        .where(Round.local_date == day)
        .order_by(Community.name, Round.slot)
    ).all()
    progress = {
        r.id: RoundProgress(r.id, name, r.slot, r.local_date, r.closed_at is not None)
        for r, name in rounds
    }
    if not progress:
        return []
    status_counts = session.execute(
        select(CheckIn.round_id, CheckIn.status, func.count())
        .where(CheckIn.round_id.in_(progress))
        .group_by(CheckIn.round_id, CheckIn.status)
    )
    for round_id, status, count in status_counts:
        assert round_id is not None
        progress[round_id].counts[status] += count
    live = session.execute(
        select(CheckIn.round_id, CallAttempt.state, func.count())
        .join(CallAttempt, CallAttempt.checkin_id == CheckIn.id)
        .where(
            CheckIn.round_id.in_(progress),
            CheckIn.status == "pending",
            CallAttempt.state.in_(("queued", "dialing", "placed", "in_call")),
        )
        .group_by(CheckIn.round_id, CallAttempt.state)
    )
    for round_id, state, count in live:
        assert round_id is not None
        phase = "in_call" if state == "in_call" else "dialing"
        progress[round_id].counts[phase] += count
        progress[round_id].counts["pending"] -= count
    return list(progress.values())
