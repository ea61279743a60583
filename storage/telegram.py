"""Telegram's tables: which chats are linked to whom, one-time link codes, the updates already
handled, and the check-ins running as chats (``ivr.carriers.telegram``)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from storage.base import Base
from storage.models import CheckIn, Resident, Staff


class TelegramLink(Base):
    """A Telegram chat linked to a resident (``resident``, or ``contact``: their family
    checking in for them) or to a staff member (``staff``: escalations with buttons).

    ``household``: the link is for everyone registered with the resident's phone, now and
    later (a member added to the household is covered without a new code): their check-ins
    come as one chat check-in, asking each member in turn like the household call."""

    __tablename__ = "telegram_link"
    __table_args__ = (
        UniqueConstraint("chat_id", "resident_id"),
        UniqueConstraint("chat_id", "staff_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    chat_id: Mapped[int] = mapped_column(BigInteger, index=True)
    resident_id: Mapped[int | None] = mapped_column(
        ForeignKey("resident.id", ondelete="CASCADE"), index=True
    )
    staff_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[str] = mapped_column(String(16))  # resident | contact | staff
    household: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    linked_at: Mapped[dt.datetime]

    resident: Mapped[Resident | None] = relationship()
    staff: Mapped[Staff | None] = relationship()


class TelegramLinkCode(Base):
    """A one-time code staff hand out; ``/start CODE`` links the sender's chat once."""

    __tablename__ = "telegram_link_code"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    resident_id: Mapped[int | None] = mapped_column(ForeignKey("resident.id", ondelete="CASCADE"))
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(16))
    household: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[dt.datetime]
    expires_at: Mapped[dt.datetime]
    used_at: Mapped[dt.datetime | None]


class TelegramUpdate(Base):
    """An ``update_id`` already handled: Telegram redelivers an update it got no 200 for."""

    __tablename__ = "telegram_update"

    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    received_at: Mapped[dt.datetime] = mapped_column(index=True)


class TelegramCheckIn(Base):
    """A check-in offered by chat: the flow's state between messages, like a call's.

    ``status``: ``due`` (to be sent at ``due_at``), ``open`` (asked, waiting), ``done`` (the
    flow ended), ``over`` (the phone call took over, or the check-in closed otherwise).
    ``turn`` numbers the question on screen; a button of another turn is stale. A household's
    chat check-in lists its members as ``TelegramMember`` rows (``checkin_id`` is the first
    member's); a single resident's has none.
    """

    __tablename__ = "telegram_checkin"
    __table_args__ = (Index("ix_telegram_checkin_due", "status", "due_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    checkin_id: Mapped[int] = mapped_column(
        ForeignKey("checkin.id", ondelete="CASCADE"), unique=True
    )
    resident_id: Mapped[int] = mapped_column(ForeignKey("resident.id", ondelete="CASCADE"))
    chat_id: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(8))
    due_at: Mapped[dt.datetime]
    flow_state: Mapped[dict[str, Any] | None] = mapped_column(JSON())
    turn: Mapped[int] = mapped_column(Integer, default=0)
    pad: Mapped[str] = mapped_column(String(8), default="")  # digits keyed on the number pad
    message_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]

    checkin: Mapped[CheckIn] = relationship()
    resident: Mapped[Resident] = relationship()


class TelegramMember(Base):
    """One member a household's chat check-in asks, in ``position`` order (the flow state's
    ``member``), as ``CallMember`` is for a household call. A check-in is offered by chat once."""

    __tablename__ = "telegram_member"

    id: Mapped[int] = mapped_column(primary_key=True)
    talk_id: Mapped[int] = mapped_column(
        ForeignKey("telegram_checkin.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    checkin_id: Mapped[int] = mapped_column(
        ForeignKey("checkin.id", ondelete="CASCADE"), unique=True
    )
    resident_id: Mapped[int] = mapped_column(ForeignKey("resident.id", ondelete="CASCADE"))

    checkin: Mapped[CheckIn] = relationship()
    resident: Mapped[Resident] = relationship()
