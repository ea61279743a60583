"""Staff, duty roster, notifications, service orders; SLA and ack code on escalations

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 16:46:22.759896
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.base

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "staff",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("phone", sa.String(length=32), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=True),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=True),
        sa.Column("api_token_hash", sa.String(length=128), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["community_id"], ["community.id"], name=op.f("fk_staff_community_id_community")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff")),
        sa.UniqueConstraint("api_token_hash", name=op.f("uq_staff_api_token_hash")),
        sa.UniqueConstraint("phone", name=op.f("uq_staff_phone")),
    )
    with op.batch_alter_table("staff", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_staff_community_id"), ["community_id"], unique=False)

    op.create_table(
        "duty_shift",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("weekday", sa.Integer(), nullable=True),
        sa.Column("start", sa.String(length=5), nullable=False),
        sa.Column("end", sa.String(length=5), nullable=False),
        sa.ForeignKeyConstraint(
            ["community_id"], ["community.id"], name=op.f("fk_duty_shift_community_id_community")
        ),
        sa.ForeignKeyConstraint(
            ["staff_id"],
            ["staff.id"],
            name=op.f("fk_duty_shift_staff_id_staff"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_duty_shift")),
    )
    with op.batch_alter_table("duty_shift", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_duty_shift_community_id"), ["community_id"], unique=False
        )

    op.create_table(
        "service_order",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("resident_id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("checkin_id", sa.Integer(), nullable=True),
        sa.Column("need", sa.String(length=32), nullable=False),
        sa.Column("local_date", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("opened_at", storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("taken_by", sa.String(length=100), nullable=True),
        sa.Column("taken_at", storage.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("delivered_by", sa.String(length=100), nullable=True),
        sa.Column("delivered_at", storage.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("cancelled_at", storage.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["checkin_id"], ["checkin.id"], name=op.f("fk_service_order_checkin_id_checkin")
        ),
        sa.ForeignKeyConstraint(
            ["community_id"], ["community.id"], name=op.f("fk_service_order_community_id_community")
        ),
        sa.ForeignKeyConstraint(
            ["resident_id"], ["resident.id"], name=op.f("fk_service_order_resident_id_resident")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_order")),
        sa.UniqueConstraint(
            "resident_id",
            "need",
            "local_date",
            name=op.f("uq_service_order_resident_id_need_local_date"),
        ),
    )
    with op.batch_alter_table("service_order", schema=None) as batch_op:
        batch_op.create_index("ix_service_order_status", ["community_id", "status"], unique=False)

    op.create_table(
        "notification",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("escalation_id", sa.Integer(), nullable=True),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("recipient", sa.String(length=500), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("tries", sa.Integer(), nullable=False),
        sa.Column("next_try_at", storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("claimed_by", sa.String(length=64), nullable=True),
        sa.Column("claimed_at", storage.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("sent_at", storage.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("provider_id", sa.String(length=64), nullable=True),
        sa.Column("error", sa.String(length=500), nullable=True),
        sa.Column("created_at", storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["escalation_id"],
            ["escalation.id"],
            name=op.f("fk_notification_escalation_id_escalation"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification")),
        sa.UniqueConstraint(
            "escalation_id",
            "channel",
            "recipient",
            "kind",
            name=op.f("uq_notification_escalation_id_channel_recipient_kind"),
        ),
    )
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.create_index("ix_notification_due", ["status", "next_try_at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_notification_escalation_id"), ["escalation_id"], unique=False
        )

    with op.batch_alter_table("community", schema=None) as batch_op:
        batch_op.add_column(sa.Column("chat_webhook_url", sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column("chat_format", sa.String(length=16), nullable=True))

    with op.batch_alter_table("escalation", schema=None) as batch_op:
        batch_op.add_column(sa.Column("ack_code", sa.String(length=12), nullable=True))
        batch_op.add_column(
            sa.Column("remind_at", storage.base.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("reminders", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.create_index(batch_op.f("ix_escalation_ack_code"), ["ack_code"], unique=False)
        batch_op.create_index(batch_op.f("ix_escalation_remind_at"), ["remind_at"], unique=False)

    with op.batch_alter_table("resident", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("notify_family", sa.Boolean(), server_default=sa.false(), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("resident", schema=None) as batch_op:
        batch_op.drop_column("notify_family")

    with op.batch_alter_table("escalation", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_escalation_remind_at"))
        batch_op.drop_index(batch_op.f("ix_escalation_ack_code"))
        batch_op.drop_column("reminders")
        batch_op.drop_column("remind_at")
        batch_op.drop_column("ack_code")

    with op.batch_alter_table("community", schema=None) as batch_op:
        batch_op.drop_column("chat_format")
        batch_op.drop_column("chat_webhook_url")

    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notification_escalation_id"))
        batch_op.drop_index("ix_notification_due")

    op.drop_table("notification")
    with op.batch_alter_table("service_order", schema=None) as batch_op:
        batch_op.drop_index("ix_service_order_status")

    op.drop_table("service_order")
    with op.batch_alter_table("duty_shift", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_duty_shift_community_id"))

    op.drop_table("duty_shift")
    with op.batch_alter_table("staff", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_staff_community_id"))

    op.drop_table("staff")
