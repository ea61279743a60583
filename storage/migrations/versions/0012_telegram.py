"""Telegram: linked chats, link codes, handled updates, chat check-ins

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 17:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.base

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "telegram_update",
        sa.Column("update_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("received_at", storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("update_id", name=op.f("pk_telegram_update")),
    )
    with op.batch_alter_table("telegram_update", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_telegram_update_received_at"), ["received_at"], unique=False
        )

    op.create_table(
        "telegram_link",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("resident_id", sa.Integer(), nullable=True),
        sa.Column("staff_id", sa.Integer(), nullable=True),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("linked_at", storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["resident_id"],
            ["resident.id"],
            name=op.f("fk_telegram_link_resident_id_resident"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["staff_id"],
            ["staff.id"],
            name=op.f("fk_telegram_link_staff_id_staff"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_telegram_link")),
        sa.UniqueConstraint(
            "chat_id", "resident_id", name=op.f("uq_telegram_link_chat_id_resident_id")
        ),
        sa.UniqueConstraint("chat_id", "staff_id", name=op.f("uq_telegram_link_chat_id_staff_id")),
    )
    with op.batch_alter_table("telegram_link", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_telegram_link_chat_id"), ["chat_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_telegram_link_resident_id"), ["resident_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_telegram_link_staff_id"), ["staff_id"], unique=False)

    op.create_table(
        "telegram_link_code",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("resident_id", sa.Integer(), nullable=True),
        sa.Column("staff_id", sa.Integer(), nullable=True),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("used_at", storage.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["resident_id"],
            ["resident.id"],
            name=op.f("fk_telegram_link_code_resident_id_resident"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["staff_id"],
            ["staff.id"],
            name=op.f("fk_telegram_link_code_staff_id_staff"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_telegram_link_code")),
        sa.UniqueConstraint("code", name=op.f("uq_telegram_link_code_code")),
    )
    op.create_table(
        "telegram_checkin",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("checkin_id", sa.Integer(), nullable=False),
        sa.Column("resident_id", sa.Integer(), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("due_at", storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("flow_state", sa.JSON(), nullable=True),
        sa.Column("turn", sa.Integer(), nullable=False),
        sa.Column("pad", sa.String(length=8), nullable=False),
        sa.Column("message_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["checkin_id"],
            ["checkin.id"],
            name=op.f("fk_telegram_checkin_checkin_id_checkin"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["resident_id"],
            ["resident.id"],
            name=op.f("fk_telegram_checkin_resident_id_resident"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_telegram_checkin")),
        sa.UniqueConstraint("checkin_id", name=op.f("uq_telegram_checkin_checkin_id")),
    )
    with op.batch_alter_table("telegram_checkin", schema=None) as batch_op:
        batch_op.create_index("ix_telegram_checkin_due", ["status", "due_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("telegram_checkin", schema=None) as batch_op:
        batch_op.drop_index("ix_telegram_checkin_due")

    op.drop_table("telegram_checkin")
    op.drop_table("telegram_link_code")
    with op.batch_alter_table("telegram_link", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_telegram_link_staff_id"))
        batch_op.drop_index(batch_op.f("ix_telegram_link_resident_id"))
        batch_op.drop_index(batch_op.f("ix_telegram_link_chat_id"))

    op.drop_table("telegram_link")
    with op.batch_alter_table("telegram_update", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_telegram_update_received_at"))

    op.drop_table("telegram_update")
