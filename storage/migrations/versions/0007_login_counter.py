"""Login counters locked while a login counts, instead of one row per failed login

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 14:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.base

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "login_counter",
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("phone", sa.String(length=32), nullable=False),
        sa.Column("ip", sa.String(length=64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("window_start", storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_at", storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("kind", "phone", "ip", name=op.f("pk_login_counter")),
    )
    with op.batch_alter_table("login_counter", schema=None) as batch_op:
        batch_op.create_index("ix_login_counter_last_at", ["last_at"], unique=False)
    # Failures of the last 15 minutes are forgotten: at worst a guesser gets one fresh window.
    with op.batch_alter_table("login_attempt", schema=None) as batch_op:
        batch_op.drop_index("ix_login_attempt_phone_ip_at")
        batch_op.drop_index("ix_login_attempt_ip_at")
    op.drop_table("login_attempt")


def downgrade() -> None:
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
    with op.batch_alter_table("login_counter", schema=None) as batch_op:
        batch_op.drop_index("ix_login_counter_last_at")
    op.drop_table("login_counter")
