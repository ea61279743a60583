"""Telegram for households: a link code and a link can be for everyone sharing a resident's
phone, and a household's chat check-in lists the members it asks (telegram_member)

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06 10:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Links made before the upgrade were for one resident each, and stay so.
    for table in ("telegram_link", "telegram_link_code"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(
                sa.Column("household", sa.Boolean(), server_default=sa.false(), nullable=False)
            )
    op.create_table(
        "telegram_member",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("talk_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("checkin_id", sa.Integer(), nullable=False),
        sa.Column("resident_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["talk_id"],
            ["telegram_checkin.id"],
            name=op.f("fk_telegram_member_talk_id_telegram_checkin"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["checkin_id"],
            ["checkin.id"],
            name=op.f("fk_telegram_member_checkin_id_checkin"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["resident_id"],
            ["resident.id"],
            name=op.f("fk_telegram_member_resident_id_resident"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_telegram_member")),
        sa.UniqueConstraint("checkin_id", name=op.f("uq_telegram_member_checkin_id")),
    )
    op.create_index("ix_telegram_member_talk_id", "telegram_member", ["talk_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_telegram_member_talk_id", table_name="telegram_member")
    op.drop_table("telegram_member")
    for table in ("telegram_link_code", "telegram_link"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("household")
