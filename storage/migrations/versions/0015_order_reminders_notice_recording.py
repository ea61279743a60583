"""Order-take reminders repeat (how many were sent); a notice can carry a recording

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-04 12:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("service_order", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("reminders", sa.Integer(), server_default="0", nullable=False)
        )
    # An order reminded once before this revision counts as reminded once.
    op.execute("UPDATE service_order SET reminders = 1 WHERE reminded_at IS NOT NULL")
    with op.batch_alter_table("notice", schema=None) as batch_op:
        batch_op.add_column(sa.Column("recording", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("notice", schema=None) as batch_op:
        batch_op.drop_column("recording")
    with op.batch_alter_table("service_order", schema=None) as batch_op:
        batch_op.drop_column("reminders")
