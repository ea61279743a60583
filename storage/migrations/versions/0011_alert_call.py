"""Staff alert calls: each ring of an urgent escalation to the staff on duty

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 17:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.base import UTCDateTime

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "alert_call",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("escalation_id", sa.Integer(), sa.ForeignKey("escalation.id"), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("staff_id", sa.Integer(), sa.ForeignKey("staff.id"), nullable=True),
        sa.Column("phone", sa.String(32), nullable=False),
        sa.Column("code", sa.String(40), nullable=False, unique=True),
        sa.Column("language", sa.String(10), nullable=False),
        sa.Column("state", sa.String(10), nullable=False),
        sa.Column("status", sa.String(16), nullable=True),
        sa.Column("outcome", sa.String(24), nullable=True),
        sa.Column("call_sid", sa.String(64), nullable=True, unique=True),
        sa.Column("flow_state", sa.JSON(), nullable=True),
        sa.Column("claimed_by", sa.String(64), nullable=True),
        sa.Column("claimed_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("placed_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("answered_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("ended_at", UTCDateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("escalation_id", "position"),
        sa.UniqueConstraint("escalation_id", "phone"),
    )
    op.create_index("ix_alert_call_escalation_id", "alert_call", ["escalation_id"])
    op.create_index("ix_alert_call_state", "alert_call", ["state"])


def downgrade() -> None:
    op.drop_index("ix_alert_call_state", table_name="alert_call")
    op.drop_index("ix_alert_call_escalation_id", table_name="alert_call")
    op.drop_table("alert_call")
