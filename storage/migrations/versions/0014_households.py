"""Households: several residents may share one phone, and a call asks each of them

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03 17:30:00
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


@contextmanager
def _copying_resident() -> Iterator[None]:
    """SQLite drops a constraint by copying the table, which its foreign keys forbid while
    other rows point at residents; they can only be switched off between transactions (the
    procedure SQLite documents for ALTER TABLE), and are checked before going on."""
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        op.execute("COMMIT")
        op.execute("PRAGMA foreign_keys = OFF")
        op.execute("BEGIN IMMEDIATE")
    yield
    if sqlite:
        broken = op.get_bind().exec_driver_sql("PRAGMA foreign_key_check").fetchall()
        if broken:
            raise RuntimeError(f"copying the resident table broke foreign keys: {broken[:5]}")
        op.execute("COMMIT")
        op.execute("PRAGMA foreign_keys = ON")
        op.execute("BEGIN IMMEDIATE")


def upgrade() -> None:
    with _copying_resident(), op.batch_alter_table("resident", schema=None) as batch_op:
        batch_op.drop_constraint("uq_resident_phone", type_="unique")
        batch_op.create_index("ix_resident_phone", ["phone"], unique=False)
    op.create_table(
        "call_member",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("attempt_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("checkin_id", sa.Integer(), nullable=False),
        sa.Column("resident_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["attempt_id"], ["call_attempt.id"], name=op.f("fk_call_member_attempt_id_call_attempt")
        ),
        sa.ForeignKeyConstraint(
            ["checkin_id"], ["checkin.id"], name=op.f("fk_call_member_checkin_id_checkin")
        ),
        sa.ForeignKeyConstraint(
            ["resident_id"], ["resident.id"], name=op.f("fk_call_member_resident_id_resident")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_call_member")),
        sa.UniqueConstraint(
            "attempt_id", "position", name=op.f("uq_call_member_attempt_id_position")
        ),
    )
    op.create_index("ix_call_member_checkin_id", "call_member", ["checkin_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_call_member_checkin_id", table_name="call_member")
    op.drop_table("call_member")
    with _copying_resident(), op.batch_alter_table("resident", schema=None) as batch_op:
        batch_op.drop_index("ix_resident_phone")
        batch_op.create_unique_constraint("uq_resident_phone", ["phone"])
