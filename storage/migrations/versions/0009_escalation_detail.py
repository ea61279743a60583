"""An escalation's events kept as facts (``escalation.facts``), so screens can say them in their
reader's language; the English lines of rows already stored are read into the same facts

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 17:00:00
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The English lines the system wrote before 0009 (callflows/rules.py, ivr/domain/settle.py,
# ivr/worker/dial_errors.py); any other line is kept as text.
UNCONFIRMED = " (unconfirmed)"
THRESHOLD = re.compile(r"(\d+\.\d) °C ([≥<]) (\d+\.\d) °C")
RISING = re.compile(r"(\d+\.\d) °C, up \d+\.\d °C from (\d+\.\d) °C")
ANSWER = re.compile(r"(\w+) = (.+)")
REFUSED = re.compile(r"the carrier cannot call \S+: (\S+) (.*)", re.S)
CALL = re.compile(
    r"(?:attempt (\d+)|(call-back)) (\d\d:\d\d): ([\w-]+)(?: \((\w+)\))?(?: \[(.*)\])?"
)
NOT_PLACED = "no call could be placed"
ANSWERED_BY = ("machine_start", "machine_end_beep", "machine_end_silence", "machine_end_other",
               "fax", "unknown")  # fmt: skip


def fact_of(line: str) -> dict[str, Any]:
    unconfirmed = line.endswith(UNCONFIRMED)
    core = line.removesuffix(UNCONFIRMED)
    fact = _finding(core)
    if fact is not None:
        return {**fact, "unconfirmed": True} if unconfirmed else fact
    if line == NOT_PLACED:
        return {"kind": "attempts", "calls": []}
    calls = [CALL.fullmatch(part) for part in line.split("; ")]
    if all(calls):
        return {"kind": "attempts", "calls": [_call(found) for found in calls if found]}
    refused = REFUSED.fullmatch(line)
    if refused:
        code = int(refused[1]) if refused[1].isdigit() else None
        return {"kind": "carrier_refused", "code": code, "message": refused[2]}
    return {"kind": "text", "text": line}


def _finding(line: str) -> dict[str, Any] | None:
    if found := THRESHOLD.fullmatch(line):
        return {"kind": "temperature", "value": found[1], "op": found[2], "limit": found[3]}
    if found := RISING.fullmatch(line):
        return {"kind": "rising", "value": found[1], "previous": found[2]}
    if found := ANSWER.fullmatch(line):
        value = {"yes": True, "no": False}.get(found[2], found[2])
        return {"kind": "answer", "key": found[1], "value": value}
    return None


def _call(found: re.Match[str]) -> dict[str, Any]:
    said = found[5]
    return {
        "inbound": found[2] is not None,
        "no": int(found[1]) if found[1] else None,
        "local": found[3],  # written in the deployment's time zone; the date is the row's
        "status": found[4],
        "answered_by": said if said in ANSWERED_BY else None,
        "outcome": said if said not in ANSWERED_BY and said != "answered" else None,
        "error": found[6],
    }


def upgrade() -> None:
    with op.batch_alter_table("escalation", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("facts", sa.JSON(), server_default=sa.text("'[]'"), nullable=False)
        )
    escalation = sa.table(
        "escalation", sa.column("id", sa.Integer), sa.column("detail", sa.Text),
        sa.column("facts", sa.JSON),
    )  # fmt: skip
    connection = op.get_bind()
    rows = connection.execute(sa.select(escalation.c.id, escalation.c.detail)).all()
    for row_id, detail in rows:
        facts = [fact_of(line) for line in (detail or "").splitlines() if line.strip()]
        connection.execute(escalation.update().where(escalation.c.id == row_id).values(facts=facts))


def downgrade() -> None:
    with op.batch_alter_table("escalation", schema=None) as batch_op:
        batch_op.drop_column("facts")
