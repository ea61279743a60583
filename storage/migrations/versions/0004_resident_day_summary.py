"""Each resident's summary of their latest day of check-ins (the district's colour filter)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 21:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Filled from the check-ins already stored, as storage/day_summary.py keeps it from now on.
BACKFILL = (
    "UPDATE resident SET day_date = "
    "(SELECT max(local_date) FROM checkin WHERE checkin.resident_id = resident.id)",
    "UPDATE resident SET "
    "day_max_temperature_c = (SELECT max(temperature_c) FROM checkin "
    "WHERE checkin.resident_id = resident.id AND checkin.local_date = resident.day_date), "
    "day_last_closed = (SELECT status FROM checkin "
    "WHERE checkin.resident_id = resident.id AND checkin.local_date = resident.day_date "
    "AND status IN ('missed', 'partial', 'complete') ORDER BY checkin.id DESC LIMIT 1)",
)


def upgrade() -> None:
    with op.batch_alter_table("resident", schema=None) as batch_op:
        batch_op.add_column(sa.Column("day_date", sa.Date(), nullable=True))
        batch_op.add_column(
            sa.Column("day_max_temperature_c", sa.Numeric(precision=4, scale=1), nullable=True)
        )
        batch_op.add_column(sa.Column("day_last_closed", sa.String(length=16), nullable=True))
    for statement in BACKFILL:
        op.execute(statement)


def downgrade() -> None:
    with op.batch_alter_table("resident", schema=None) as batch_op:
        batch_op.drop_column("day_last_closed")
        batch_op.drop_column("day_max_temperature_c")
        batch_op.drop_column("day_date")
