"""residents, rounds, calls, answers, escalations

Revision ID: 0001
Revises:
Create Date: 2026-11-28 16:44:30.827612
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.base

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "audit_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("entity", sa.String(length=40), nullable=False),
        sa.Column("entity_id", sa.Integer(), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_entry")),
    )
    with op.batch_alter_table("audit_entry", schema=None) as batch_op:
        batch_op.create_index("ix_audit_entry_entity", ["entity", "entity_id"], unique=False)

    op.create_table(
        "community",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("hotline", sa.String(length=32), nullable=True),
        sa.Column("duty_phone", sa.String(length=32), nullable=True),
        sa.Column("round_times", sa.String(length=100), nullable=True),
        sa.Column("window_start", sa.String(length=5), nullable=True),
        sa.Column("window_end", sa.String(length=5), nullable=True),
        sa.Column("created_at", storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_community")),
        sa.UniqueConstraint("name", name=op.f("uq_community_name")),
    )
    op.create_table(
        "system_state",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Text(), nullable=True),
        sa.Column("at", storage.base.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_system_state")),
    )
    op.create_table(
        "resident",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("phone", sa.String(length=32), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("address", sa.String(length=200), nullable=True),
        sa.Column("language", sa.String(length=10), nullable=False),
        sa.Column("isolation_start", sa.Date(), nullable=True),
        sa.Column("isolation_days", sa.Integer(), nullable=False),
        sa.Column("lives_alone", sa.Boolean(), nullable=False),
        sa.Column("emergency_contact", sa.String(length=32), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("preferred_times", sa.String(length=100), nullable=True),
        sa.Column("phone_invalid_at", storage.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("phone_error", sa.String(length=200), nullable=True),
        sa.Column("released_at", storage.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("release_reason", sa.String(length=200), nullable=True),
        sa.Column("hold_until", sa.Date(), nullable=True),
        sa.Column("hold_reason", sa.String(length=200), nullable=True),
        sa.Column("created_at", storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["community_id"], ["community.id"], name=op.f("fk_resident_community_id_community")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_resident")),
        sa.UniqueConstraint("phone", name=op.f("uq_resident_phone")),
    )
    with op.batch_alter_table("resident", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_resident_community_id"), ["community_id"], unique=False
        )

    op.create_table(
        "round",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("local_date", sa.Date(), nullable=False),
        sa.Column("slot", sa.String(length=40), nullable=False),
        sa.Column("scheduled_for", storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("closes_at", storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("started_at", storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("closed_at", storage.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["community_id"], ["community.id"], name=op.f("fk_round_community_id_community")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_round")),
        sa.UniqueConstraint(
            "community_id", "local_date", "slot", name=op.f("uq_round_community_id_local_date_slot")
        ),
    )
    op.create_table(
        "checkin",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=True),
        sa.Column("resident_id", sa.Integer(), nullable=False),
        sa.Column("local_date", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", storage.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("closes_at", storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("temperature_c", sa.Numeric(precision=4, scale=1), nullable=True),
        sa.Column("symptoms", sa.Boolean(), nullable=True),
        sa.Column("needs", sa.JSON(), nullable=False),
        sa.Column("callback_requested", sa.Boolean(), nullable=False),
        sa.Column("reached", sa.Boolean(), nullable=False),
        sa.Column("finished", sa.Boolean(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("closed_at", storage.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["resident_id"], ["resident.id"], name=op.f("fk_checkin_resident_id_resident")
        ),
        sa.ForeignKeyConstraint(["round_id"], ["round.id"], name=op.f("fk_checkin_round_id_round")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_checkin")),
        sa.UniqueConstraint(
            "round_id", "resident_id", name=op.f("uq_checkin_round_id_resident_id")
        ),
    )
    with op.batch_alter_table("checkin", schema=None) as batch_op:
        batch_op.create_index("ix_checkin_due", ["status", "next_attempt_at"], unique=False)
        batch_op.create_index(
            "ix_checkin_resident_date", ["resident_id", "local_date"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_checkin_round_id"), ["round_id"], unique=False)

    op.create_table(
        "call_attempt",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("checkin_id", sa.Integer(), nullable=True),
        sa.Column("resident_id", sa.Integer(), nullable=True),
        sa.Column("attempt_no", sa.Integer(), nullable=False),
        sa.Column("direction", sa.String(length=10), nullable=False),
        sa.Column("phone", sa.String(length=32), nullable=True),
        sa.Column("language", sa.String(length=10), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("due_at", storage.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("claimed_by", sa.String(length=64), nullable=True),
        sa.Column("claimed_at", storage.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("call_sid", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=True),
        sa.Column("last_event", sa.String(length=16), nullable=True),
        sa.Column("last_sequence", sa.Integer(), nullable=False),
        sa.Column("answered_by", sa.String(length=32), nullable=True),
        sa.Column("duration_s", sa.Integer(), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("flow_name", sa.String(length=64), nullable=False),
        sa.Column("flow_state", sa.JSON(), nullable=True),
        sa.Column("carrier_error_code", sa.Integer(), nullable=True),
        sa.Column("carrier_error", sa.String(length=300), nullable=True),
        sa.Column("deferrals", sa.Integer(), nullable=False),
        sa.Column("created_at", storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("placed_at", storage.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("answered_at", storage.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("ended_at", storage.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["checkin_id"], ["checkin.id"], name=op.f("fk_call_attempt_checkin_id_checkin")
        ),
        sa.ForeignKeyConstraint(
            ["resident_id"], ["resident.id"], name=op.f("fk_call_attempt_resident_id_resident")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_call_attempt")),
        sa.UniqueConstraint("call_sid", name=op.f("uq_call_attempt_call_sid")),
        sa.UniqueConstraint("code", name=op.f("uq_call_attempt_code")),
    )
    with op.batch_alter_table("call_attempt", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_call_attempt_checkin_id"), ["checkin_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_call_attempt_resident_id"), ["resident_id"], unique=False
        )
        batch_op.create_index("ix_call_attempt_state_due", ["state", "due_at"], unique=False)

    op.create_table(
        "escalation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("resident_id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("checkin_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("severity", sa.String(length=10), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("temperature_c", sa.Numeric(precision=4, scale=1), nullable=True),
        sa.Column("events", sa.Integer(), nullable=False),
        sa.Column("opened_at", storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_event_at", storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("acknowledged_by", sa.String(length=100), nullable=True),
        sa.Column("acknowledged_at", storage.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("resolved_by", sa.String(length=100), nullable=True),
        sa.Column("resolved_at", storage.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=32), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["checkin_id"], ["checkin.id"], name=op.f("fk_escalation_checkin_id_checkin")
        ),
        sa.ForeignKeyConstraint(
            ["community_id"], ["community.id"], name=op.f("fk_escalation_community_id_community")
        ),
        sa.ForeignKeyConstraint(
            ["resident_id"], ["resident.id"], name=op.f("fk_escalation_resident_id_resident")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_escalation")),
    )
    with op.batch_alter_table("escalation", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_escalation_community_id"), ["community_id"], unique=False
        )
        batch_op.create_index("ix_escalation_status_opened", ["status", "opened_at"], unique=False)
        batch_op.create_index(
            "uq_escalation_open_reason",
            ["resident_id", "reason"],
            unique=True,
            sqlite_where=sa.text("status != 'resolved'"),
            postgresql_where=sa.text("status != 'resolved'"),
        )

    op.create_table(
        "answer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("checkin_id", sa.Integer(), nullable=True),
        sa.Column("attempt_id", sa.Integer(), nullable=False),
        sa.Column("resident_id", sa.Integer(), nullable=True),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("value", sa.JSON(), nullable=False),
        sa.Column("at", storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["attempt_id"], ["call_attempt.id"], name=op.f("fk_answer_attempt_id_call_attempt")
        ),
        sa.ForeignKeyConstraint(
            ["checkin_id"], ["checkin.id"], name=op.f("fk_answer_checkin_id_checkin")
        ),
        sa.ForeignKeyConstraint(
            ["resident_id"], ["resident.id"], name=op.f("fk_answer_resident_id_resident")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_answer")),
    )
    with op.batch_alter_table("answer", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_answer_attempt_id"), ["attempt_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_answer_checkin_id"), ["checkin_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_answer_resident_id"), ["resident_id"], unique=False)

    op.create_table(
        "call_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("attempt_id", sa.Integer(), nullable=False),
        sa.Column("at", storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("detail", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(
            ["attempt_id"], ["call_attempt.id"], name=op.f("fk_call_event_attempt_id_call_attempt")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_call_event")),
    )
    with op.batch_alter_table("call_event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_call_event_attempt_id"), ["attempt_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("call_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_call_event_attempt_id"))

    op.drop_table("call_event")
    with op.batch_alter_table("answer", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_answer_resident_id"))
        batch_op.drop_index(batch_op.f("ix_answer_checkin_id"))
        batch_op.drop_index(batch_op.f("ix_answer_attempt_id"))

    op.drop_table("answer")
    with op.batch_alter_table("escalation", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_escalation_open_reason",
            sqlite_where=sa.text("status != 'resolved'"),
            postgresql_where=sa.text("status != 'resolved'"),
        )
        batch_op.drop_index("ix_escalation_status_opened")
        batch_op.drop_index(batch_op.f("ix_escalation_community_id"))

    op.drop_table("escalation")
    with op.batch_alter_table("call_attempt", schema=None) as batch_op:
        batch_op.drop_index("ix_call_attempt_state_due")
        batch_op.drop_index(batch_op.f("ix_call_attempt_resident_id"))
        batch_op.drop_index(batch_op.f("ix_call_attempt_checkin_id"))

    op.drop_table("call_attempt")
    with op.batch_alter_table("checkin", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_checkin_round_id"))
        batch_op.drop_index("ix_checkin_resident_date")
        batch_op.drop_index("ix_checkin_due")

    op.drop_table("checkin")
    op.drop_table("round")
    with op.batch_alter_table("resident", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_resident_community_id"))

    op.drop_table("resident")
    op.drop_table("system_state")
    op.drop_table("community")
    with op.batch_alter_table("audit_entry", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_entry_entity")

    op.drop_table("audit_entry")
