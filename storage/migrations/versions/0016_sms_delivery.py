"""A text's delivery as the carrier reports it (Alibaba Cloud SmsReport): delivered or failed,
the report's code and time; reports find their text by the carrier's id

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-04 10:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.base import UTCDateTime

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Texts sent before the upgrade have no report: their delivery stays unknown.
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.add_column(sa.Column("delivery", sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column("delivery_code", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("delivered_at", UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index("ix_notification_provider_id", ["provider_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.drop_index("ix_notification_provider_id")
        batch_op.drop_column("delivered_at")
        batch_op.drop_column("delivery_code")
        batch_op.drop_column("delivery")
