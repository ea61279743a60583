"""Dashboard: failed logins (rate limiting across processes) and indexes for its lists

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 18:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.base

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "login_attempt",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("phone", sa.String(length=32), nullable=False),
        sa.Column("ip", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_attempt")),
    )
    with op.batch_alter_table("login_attempt", schema=None) as batch_op:
        batch_op.create_index("ix_login_attempt_ip_at", ["ip", "at"], unique=False)
        batch_op.create_index("ix_login_attempt_phone_ip_at", ["phone", "ip", "at"], unique=False)
    # The dashboard's lists page through these orders; see storage/models.py.
    with op.batch_alter_table("resident", schema=None) as batch_op:
        batch_op.create_index(
            "ix_resident_community_address", ["community_id", "address", "name", "id"], unique=False
        )
        batch_op.create_index("ix_resident_address", ["address", "name", "id"], unique=False)
    with op.batch_alter_table("checkin", schema=None) as batch_op:
        batch_op.create_index(
            "ix_checkin_date_resident", ["local_date", "resident_id"], unique=False
        )
    with op.batch_alter_table("call_attempt", schema=None) as batch_op:
        batch_op.create_index("ix_call_attempt_created_at", ["created_at"], unique=False)
    with op.batch_alter_table("escalation", schema=None) as batch_op:
        batch_op.create_index(
            "ix_escalation_resident_opened", ["resident_id", "opened_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("escalation", schema=None) as batch_op:
        batch_op.drop_index("ix_escalation_resident_opened")
    with op.batch_alter_table("call_attempt", schema=None) as batch_op:
        batch_op.drop_index("ix_call_attempt_created_at")
    with op.batch_alter_table("checkin", schema=None) as batch_op:
        batch_op.drop_index("ix_checkin_date_resident")
    with op.batch_alter_table("resident", schema=None) as batch_op:
        batch_op.drop_index("ix_resident_address")
        batch_op.drop_index("ix_resident_community_address")
    with op.batch_alter_table("login_attempt", schema=None) as batch_op:
        batch_op.drop_index("ix_login_attempt_phone_ip_at")
        batch_op.drop_index("ix_login_attempt_ip_at")
    op.drop_table("login_attempt")
