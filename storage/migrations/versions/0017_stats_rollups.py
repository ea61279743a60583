"""Daily statistics roll-ups: one row per community and closed local day, which days are
complete (and with which fever threshold and time zone), and marks of late changes

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-04 18:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.base import UTCDateTime

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Empty at first: closed days are counted from the raw rows until the worker (or
    # ``pingan stats rollup``) has rolled them up.
    op.create_table(
        "stats_day",
        sa.Column("local_date", sa.Date(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("monitored", sa.Integer(), nullable=False),
        sa.Column("answered", sa.Integer(), nullable=False),
        sa.Column("fevers", sa.Integer(), nullable=False),
        sa.Column("missed", sa.Integer(), nullable=False),
        sa.Column("escalations_opened", sa.Integer(), nullable=False),
        sa.Column("escalations_resolved", sa.Integer(), nullable=False),
        sa.Column("median_ack_minutes", sa.Float(), nullable=True),
        sa.Column("orders_opened", sa.Integer(), nullable=False),
        sa.Column("orders_delivered", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["community_id"], ["community.id"]),
        sa.PrimaryKeyConstraint("local_date", "community_id"),
    )
    op.create_table(
        "stats_day_done",
        sa.Column("local_date", sa.Date(), nullable=False),
        sa.Column("fever_c", sa.Numeric(precision=4, scale=1), nullable=False),
        sa.Column("time_zone", sa.String(length=64), nullable=False),
        sa.Column("computed_at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("local_date"),
    )
    op.create_table(
        "stats_day_stale",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("local_date", sa.Date(), nullable=False),
        sa.Column("marked_at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_stats_day_stale_local_date", "stats_day_stale", ["local_date"])


def downgrade() -> None:
    op.drop_index("ix_stats_day_stale_local_date", table_name="stats_day_stale")
    op.drop_table("stats_day_stale")
    op.drop_table("stats_day_done")
    op.drop_table("stats_day")
