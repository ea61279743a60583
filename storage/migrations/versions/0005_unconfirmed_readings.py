"""Readings keyed but never confirmed at the read-back are kept, marked unconfirmed

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 13:45:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = (
    ("checkin", "temperature_confirmed"),
    ("answer", "confirmed"),
    ("escalation", "temperature_confirmed"),
)


def upgrade() -> None:
    for table, column in COLUMNS:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(
                sa.Column(column, sa.Boolean(), server_default=sa.true(), nullable=False)
            )


def downgrade() -> None:
    for table, column in COLUMNS:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column(column)
