"""Adding one resident without a CSV file (``pingan residents add``, the dashboard's form).

One resident goes through exactly the import's cleaning and writing, so a phone, a date or a
language is accepted or refused the same way everywhere; only an existing resident (same phone
and name) is refused instead of being updated, because "add" must never overwrite someone. A
new name on a stored phone adds a member to that household.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from ivr.domain.residents_import import COLUMNS, Action, apply_import, parse_csv, plan_import
from storage import Community, Resident


class AddError(ValueError):
    """The resident cannot be added; ``reasons`` are sentences for the person adding."""

    def __init__(self, reasons: list[str]) -> None:
        super().__init__("; ".join(reasons))
        self.reasons = reasons


def add_resident(
    session: Session,
    fields: Mapping[str, str],
    now: dt.datetime,
    *,
    region: str,
    default_language: str,
    actor: str,
) -> Resident:
    """Add the resident described by import-column ``fields``; flushes, the caller commits."""
    parsed = parse_csv(_one_row_csv(fields), region, default_language)
    (row,) = parsed.rows
    if row.row is None:
        raise AddError(list(row.errors))
    plan = plan_import(session, parsed)
    (planned,) = plan.rows
    if planned.action != Action.CREATE:
        existing = session.get(Resident, planned.resident_id)
        assert existing is not None
        community = session.get(Community, existing.community_id)
        where = community.name if community else "?"
        raise AddError([f"{row.row.phone} is already the phone of {existing.name} ({where})"])
    apply_import(session, plan, now, actor=actor, how="added one resident")
    query = select(Resident).where(Resident.phone == row.row.phone, Resident.name == row.row.name)
    resident = session.scalars(query.order_by(Resident.id.desc())).first()
    assert resident is not None
    return resident


def _one_row_csv(fields: Mapping[str, str]) -> str:
    columns = [c for c in COLUMNS if c in fields]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(columns)
    writer.writerow([fields[c] for c in columns])
    return out.getvalue()
