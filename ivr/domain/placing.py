"""Placing one claimed short call (a staff alert ring, a release call) through the carrier seam.

The carrier is asked outside any transaction, then the row is locked again: a webhook may have
come first and already attached the call's sid, and a refusal is only a refusal if no webhook
shows that the carrier created the call after all.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.orm import Session, sessionmaker

from ivr.carriers.telephony import Carrier, CarrierError, OutboundCall
from ivr.clock import Clock
from ivr.phones import mask_phones_in
from storage import AlertCall, CallAttempt

Row = TypeVar("Row", AlertCall, CallAttempt)


def place_claimed(
    sessions: sessionmaker[Session],
    carrier: Carrier,
    clock: Clock,
    model: type[Row],
    row_id: int,
    request: OutboundCall,
    refused: Callable[[Session, Row, str], None],
) -> str | None:
    """Place the claimed (``dialing``) call ``row_id``: its sid, or None after ``refused`` was
    given the carrier's words (phone numbers masked) in the row's transaction."""
    try:
        sid = carrier.place_call(request)
    except CarrierError as exc:
        with sessions.begin() as session:
            row = session.get(model, row_id, with_for_update=True)
            assert row is not None
            if row.call_sid is None and row.state == "dialing":
                refused(session, row, mask_phones_in(str(exc)))
        return None
    with sessions.begin() as session:
        row = session.get(model, row_id, with_for_update=True)
        assert row is not None
        row.call_sid = row.call_sid or sid
        row.placed_at = row.placed_at or clock.now()
        if row.state == "dialing":
            row.state = "placed"
    return sid
