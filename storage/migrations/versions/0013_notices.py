"""Community notices read in the calls, what each resident heard, order news and reminders

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 17:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.base

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "notice",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("removed_at", storage.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["community_id"], ["community.id"], name=op.f("fk_notice_community_id_community")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notice")),
    )
    with op.batch_alter_table("notice", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_notice_community_id"), ["community_id"])
        batch_op.create_index("ix_notice_days", ["ends_on", "starts_on"])
    op.create_table(
        "notice_heard",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("notice_id", sa.Integer(), nullable=False),
        sa.Column("resident_id", sa.Integer(), nullable=False),
        sa.Column("local_date", sa.Date(), nullable=False),
        sa.Column("attempt_id", sa.Integer(), nullable=True),
        sa.Column("at", storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["attempt_id"],
            ["call_attempt.id"],
            name=op.f("fk_notice_heard_attempt_id_call_attempt"),
        ),
        sa.ForeignKeyConstraint(
            ["notice_id"],
            ["notice.id"],
            name=op.f("fk_notice_heard_notice_id_notice"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["resident_id"], ["resident.id"], name=op.f("fk_notice_heard_resident_id_resident")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notice_heard")),
        sa.UniqueConstraint(
            "notice_id",
            "resident_id",
            "local_date",
            name=op.f("uq_notice_heard_notice_id_resident_id_local_date"),
        ),
    )
    with op.batch_alter_table("notice_heard", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_notice_heard_resident_id"), ["resident_id"])
    with op.batch_alter_table("service_order", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("eta_at", storage.base.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("announced", sa.String(length=12), nullable=True))
        batch_op.add_column(
            sa.Column("reminded_at", storage.base.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("service_order", schema=None) as batch_op:
        batch_op.drop_column("reminded_at")
        batch_op.drop_column("announced")
        batch_op.drop_column("eta_at")
    with op.batch_alter_table("notice_heard", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notice_heard_resident_id"))
    op.drop_table("notice_heard")
    with op.batch_alter_table("notice", schema=None) as batch_op:
        batch_op.drop_index("ix_notice_days")
        batch_op.drop_index(batch_op.f("ix_notice_community_id"))
    op.drop_table("notice")
