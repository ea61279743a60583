"""The tables. Rows hold facts and deadlines; statuses people read are worked out from them.

Two caches: each resident's ``day_*`` columns summarise their latest day of check-ins, kept by
``storage.day_summary`` so that the whole district can be filtered by today's colour; and the
statistics of each closed day (``stats_day``), kept by ``ivr.web.dashboard.rollups`` and marked
stale by ``storage.stats_stale`` when a late change touches a day already rolled up.

Every timestamp is aware UTC (see ``base.UTCDateTime``); local dates and times of day (a round's
date, "09:00") are stored as the local values they are, next to the community they belong to.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from storage.base import Base

Json = JSON()


class Community(Base):
    __tablename__ = "community"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    hotline: Mapped[str | None] = mapped_column(String(32))
    duty_phone: Mapped[str | None] = mapped_column(String(32))
    round_times: Mapped[str | None] = mapped_column(String(100))  # "09:00,16:00"; None = default
    window_start: Mapped[str | None] = mapped_column(String(5))  # "08:00"; None = default
    window_end: Mapped[str | None] = mapped_column(String(5))
    chat_webhook_url: Mapped[str | None] = mapped_column(String(500))
    chat_format: Mapped[str | None] = mapped_column(String(16))  # wecom | dingtalk | json
    # Prompt language of residents imported without one of their own; None = PINGAN_LANGUAGE.
    language: Mapped[str | None] = mapped_column(String(10))
    created_at: Mapped[dt.datetime]

    residents: Mapped[list[Resident]] = relationship(back_populates="community")


class Resident(Base):
    __tablename__ = "resident"
    __table_args__ = (
        # The dashboard's resident list: by address within a community, or over all of them.
        Index("ix_resident_community_address", "community_id", "address", "name", "id"),
        Index("ix_resident_address", "address", "name", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    # E.164. Residents sharing one phone are a household, called together (``CallMember``).
    phone: Mapped[str] = mapped_column(String(32), index=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id"), index=True)
    address: Mapped[str | None] = mapped_column(String(200))
    language: Mapped[str] = mapped_column(String(10), default="zh-CN")
    isolation_start: Mapped[dt.date | None] = mapped_column(Date)
    isolation_days: Mapped[int] = mapped_column(Integer, default=14)
    lives_alone: Mapped[bool] = mapped_column(Boolean, default=False)
    emergency_contact: Mapped[str | None] = mapped_column(String(32))
    notify_family: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    notes: Mapped[str | None] = mapped_column(Text)
    preferred_times: Mapped[str | None] = mapped_column(String(100))  # "10:30,17:00"
    phone_invalid_at: Mapped[dt.datetime | None]
    phone_error: Mapped[str | None] = mapped_column(String(200))
    released_at: Mapped[dt.datetime | None]
    release_reason: Mapped[str | None] = mapped_column(String(200))
    hold_until: Mapped[dt.date | None] = mapped_column(Date)
    hold_reason: Mapped[str | None] = mapped_column(String(200))
    # The summary of the latest local day with check-ins (see storage/day_summary.py).
    day_date: Mapped[dt.date | None] = mapped_column(Date)
    day_max_temperature_c: Mapped[Decimal | None] = mapped_column(Numeric(4, 1))
    day_last_closed: Mapped[str | None] = mapped_column(String(16))  # that day's last closed
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]

    community: Mapped[Community] = relationship(back_populates="residents")

    def isolation_end(self) -> dt.date | None:
        """The last local day of monitoring, inclusive (start + days - 1)."""
        if self.isolation_start is None:
            return None
        return self.isolation_start + dt.timedelta(days=max(self.isolation_days, 1) - 1)

    def monitored_on(self, day: dt.date) -> bool:
        """Whether this resident should be called on local date ``day``."""
        if self.released_at is not None or self.phone_invalid_at is not None:
            return False
        if self.hold_until is not None and day <= self.hold_until:
            return False
        end = self.isolation_end()
        if self.isolation_start is not None and day < self.isolation_start:
            return False
        return end is None or day <= end


class Round(Base):
    """One calling slot of one community on one local date; the unique key stops double starts."""

    __tablename__ = "round"
    __table_args__ = (UniqueConstraint("community_id", "local_date", "slot"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id"))
    local_date: Mapped[dt.date] = mapped_column(Date)
    slot: Mapped[str] = mapped_column(String(40))  # "09:00", or "manual-<HHMMSS>"
    scheduled_for: Mapped[dt.datetime]
    closes_at: Mapped[dt.datetime]  # end of the calling window
    started_at: Mapped[dt.datetime]
    closed_at: Mapped[dt.datetime | None]

    community: Mapped[Community] = relationship()


class CheckIn(Base):
    """A resident's check-in for one round: the answers so far and when to call next."""

    __tablename__ = "checkin"
    __table_args__ = (
        UniqueConstraint("round_id", "resident_id"),
        Index("ix_checkin_due", "status", "next_attempt_at"),
        Index("ix_checkin_resident_date", "resident_id", "local_date"),
        Index("ix_checkin_date_resident", "local_date", "resident_id"),  # today's board, stats
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int | None] = mapped_column(ForeignKey("round.id"), index=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("resident.id"))
    local_date: Mapped[dt.date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=3)
    next_attempt_at: Mapped[dt.datetime | None]  # None while a call is in flight or when closed
    closes_at: Mapped[dt.datetime]  # end of the calling window: no call starts after it
    priority: Mapped[int] = mapped_column(Integer, default=0)
    temperature_c: Mapped[Decimal | None] = mapped_column(Numeric(4, 1))
    # False for a reading keyed but never confirmed at the read-back (see callflows.AnswerValue)
    temperature_confirmed: Mapped[bool] = mapped_column(
        Boolean, default=True, server_default=true()
    )
    symptoms: Mapped[bool | None] = mapped_column(Boolean)
    needs: Mapped[list[str]] = mapped_column(Json, default=list)
    callback_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    reached: Mapped[bool] = mapped_column(Boolean, default=False)  # a person answered once
    finished: Mapped[bool] = mapped_column(Boolean, default=False)  # the flow reached its end
    source: Mapped[str] = mapped_column(String(16), default="call")  # call | inbound | staff
    closed_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]

    resident: Mapped[Resident] = relationship()
    round: Mapped[Round | None] = relationship()
    attempts_list: Mapped[list[CallAttempt]] = relationship(
        back_populates="checkin", order_by="CallAttempt.id"
    )


class CallAttempt(Base):
    """One phone call, outbound or inbound. ``code`` is the unguessable key in webhook URLs.

    ``state`` is our side (queued → dialing → placed → in_call → ended); ``status`` is the
    carrier's final CallStatus, set once and never moved back.
    """

    __tablename__ = "call_attempt"
    __table_args__ = (
        Index("ix_call_attempt_state_due", "state", "due_at"),
        Index("ix_call_attempt_created_at", "created_at"),  # the call log, newest first
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    checkin_id: Mapped[int | None] = mapped_column(ForeignKey("checkin.id"), index=True)
    resident_id: Mapped[int | None] = mapped_column(ForeignKey("resident.id"), index=True)
    attempt_no: Mapped[int] = mapped_column(Integer, default=1)
    direction: Mapped[str] = mapped_column(String(10), default="outbound")
    phone: Mapped[str | None] = mapped_column(String(32))
    language: Mapped[str] = mapped_column(String(10), default="zh-CN")
    state: Mapped[str] = mapped_column(String(10), default="queued")
    due_at: Mapped[dt.datetime | None]
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_at: Mapped[dt.datetime | None]
    call_sid: Mapped[str | None] = mapped_column(String(64), unique=True)
    status: Mapped[str | None] = mapped_column(String(16))
    last_event: Mapped[str | None] = mapped_column(String(16))
    last_sequence: Mapped[int] = mapped_column(Integer, default=-1)
    answered_by: Mapped[str | None] = mapped_column(String(32))
    duration_s: Mapped[int | None] = mapped_column(Integer)
    outcome: Mapped[str | None] = mapped_column(String(16))
    flow_name: Mapped[str] = mapped_column(String(64), default="checkin")
    flow_state: Mapped[dict[str, Any] | None] = mapped_column(Json)
    carrier_error_code: Mapped[int | None] = mapped_column(Integer)
    carrier_error: Mapped[str | None] = mapped_column(String(300))
    deferrals: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime]
    placed_at: Mapped[dt.datetime | None]
    answered_at: Mapped[dt.datetime | None]
    ended_at: Mapped[dt.datetime | None]

    checkin: Mapped[CheckIn | None] = relationship(back_populates="attempts_list")
    resident: Mapped[Resident | None] = relationship()
    events: Mapped[list[CallEvent]] = relationship(
        back_populates="attempt", order_by="CallEvent.id"
    )


class CallMember(Base):
    """One member of a household call: the call asks, in ``position`` order, each member whose
    check-in it carries (the flow state's ``member`` is this position). A call that asks one
    resident has no rows here: its check-in is the attempt's own."""

    __tablename__ = "call_member"
    __table_args__ = (UniqueConstraint("attempt_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("call_attempt.id"))
    position: Mapped[int] = mapped_column(Integer)
    checkin_id: Mapped[int] = mapped_column(ForeignKey("checkin.id"), index=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("resident.id"))

    checkin: Mapped[CheckIn] = relationship()
    resident: Mapped[Resident] = relationship()


class CallEvent(Base):
    """The call's timeline: carrier statuses, each key entry, transfers, errors."""

    __tablename__ = "call_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("call_attempt.id"), index=True)
    at: Mapped[dt.datetime]
    kind: Mapped[str] = mapped_column(String(16))  # status | key | silence | dial | answer | error
    name: Mapped[str] = mapped_column(String(64))
    detail: Mapped[str | None] = mapped_column(String(500))

    attempt: Mapped[CallAttempt] = relationship(back_populates="events")


class Answer(Base):
    """One answer as keyed, whatever the flow: the generic record behind the check-in columns."""

    __tablename__ = "answer"

    id: Mapped[int] = mapped_column(primary_key=True)
    checkin_id: Mapped[int | None] = mapped_column(ForeignKey("checkin.id"), index=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("call_attempt.id"), index=True)
    resident_id: Mapped[int | None] = mapped_column(ForeignKey("resident.id"), index=True)
    key: Mapped[str] = mapped_column(String(64))
    value: Mapped[Any] = mapped_column(Json)
    confirmed: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    at: Mapped[dt.datetime]


class Escalation(Base):
    """Something staff must act on. At most one not-yet-resolved per resident and reason."""

    __tablename__ = "escalation"
    __table_args__ = (
        Index(
            "uq_escalation_open_reason",
            "resident_id",
            "reason",
            unique=True,
            sqlite_where=text("status != 'resolved'"),
            postgresql_where=text("status != 'resolved'"),
        ),
        Index("ix_escalation_status_opened", "status", "opened_at"),
        Index("ix_escalation_resident_opened", "resident_id", "opened_at"),  # a resident's page
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("resident.id"))
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id"), index=True)
    checkin_id: Mapped[int | None] = mapped_column(ForeignKey("checkin.id"))
    reason: Mapped[str] = mapped_column(String(32))
    severity: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(16), default="open")
    detail: Mapped[str] = mapped_column(Text, default="")  # English, one line per event
    # The same events as facts, one dict per event ({"kind": "temperature", ...}; see
    # ``ivr.domain.escalation_facts``), so that screens and texts can say them in their reader's
    # words.
    facts: Mapped[list[dict[str, Any]]] = mapped_column(Json, default=list)
    temperature_c: Mapped[Decimal | None] = mapped_column(Numeric(4, 1))
    temperature_confirmed: Mapped[bool] = mapped_column(
        Boolean, default=True, server_default=true()
    )
    events: Mapped[int] = mapped_column(Integer, default=1)
    opened_at: Mapped[dt.datetime]
    last_event_at: Mapped[dt.datetime]
    acknowledged_by: Mapped[str | None] = mapped_column(String(100))
    acknowledged_at: Mapped[dt.datetime | None]
    resolved_by: Mapped[str | None] = mapped_column(String(100))
    resolved_at: Mapped[dt.datetime | None]
    outcome: Mapped[str | None] = mapped_column(String(32))
    note: Mapped[str | None] = mapped_column(Text)
    ack_code: Mapped[str | None] = mapped_column(String(12), index=True)
    remind_at: Mapped[dt.datetime | None] = mapped_column(index=True)  # SLA: re-notify after
    reminders: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    resident: Mapped[Resident] = relationship()
    community: Mapped[Community] = relationship()


class Staff(Base):
    """A community worker, supervisor or administrator (dashboard login and duty roster)."""

    __tablename__ = "staff"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    phone: Mapped[str] = mapped_column(String(32), unique=True)  # E.164; also the login
    community_id: Mapped[int | None] = mapped_column(ForeignKey("community.id"), index=True)
    role: Mapped[str] = mapped_column(String(16), default="staff")  # see ivr.domain.staff ROLES
    password_hash: Mapped[str | None] = mapped_column(String(255))
    api_token_hash: Mapped[str | None] = mapped_column(String(128), unique=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Carried in every dashboard session; raising it ends every session begun before.
    session_generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[dt.datetime]

    community: Mapped[Community | None] = relationship()


class DutyShift(Base):
    """Who is on duty when. A community with no shifts has all its active staff on duty."""

    __tablename__ = "duty_shift"

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id"), index=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"))
    weekday: Mapped[int | None] = mapped_column(Integer)  # 0 = Monday; None = every day
    start: Mapped[str] = mapped_column(String(5), default="00:00")  # local, inclusive
    end: Mapped[str] = mapped_column(String(5), default="24:00")  # local, exclusive

    staff: Mapped[Staff] = relationship()


class Notification(Base):
    """One message to send (SMS, group chat, family). Stored before it is sent; claimed by one
    worker with a conditional UPDATE so two workers never send it twice."""

    __tablename__ = "notification"
    __table_args__ = (
        UniqueConstraint("escalation_id", "channel", "recipient", "kind"),
        Index("ix_notification_due", "status", "next_try_at"),
        Index("ix_notification_provider_id", "provider_id"),  # a delivery report's key
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    escalation_id: Mapped[int | None] = mapped_column(ForeignKey("escalation.id"), index=True)
    channel: Mapped[str] = mapped_column(String(16))  # sms | wecom | dingtalk | json | call
    recipient: Mapped[str] = mapped_column(String(500))  # phone number or webhook URL
    kind: Mapped[str] = mapped_column(String(24))  # opened | reminder-1 | family | …
    body: Mapped[str] = mapped_column(Text, default="")
    # A text's template variables as a JSON object (what Alibaba Cloud SMS sends instead of body)
    params: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default="pending")  # → sending → sent|failed
    tries: Mapped[int] = mapped_column(Integer, default=0)
    next_try_at: Mapped[dt.datetime]
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_at: Mapped[dt.datetime | None]
    sent_at: Mapped[dt.datetime | None]
    provider_id: Mapped[str | None] = mapped_column(String(64))
    error: Mapped[str | None] = mapped_column(String(500))
    # What the phone network said, when the carrier reports it (Alibaba Cloud's SmsReport):
    # delivered | failed, the report's code (DELIVERED, MOBILE_NOT_ON_SERVICE, …) and when.
    # None while no report came: "sent" only says the carrier accepted the text.
    delivery: Mapped[str | None] = mapped_column(String(10))
    delivery_code: Mapped[str | None] = mapped_column(String(64))
    delivered_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime]

    escalation: Mapped[Escalation | None] = relationship()


class AlertCall(Base):
    """One ring of the staff alert call for an urgent escalation (``ivr.domain.alert_calls``).

    ``position`` orders the rings of one escalation; the unique keys make a ring, and a ring to
    one phone, happen once per escalation whichever worker creates it. ``code`` is the
    unguessable key in the call's webhook URLs, as for check-in calls."""

    __tablename__ = "alert_call"
    __table_args__ = (
        UniqueConstraint("escalation_id", "position"),
        UniqueConstraint("escalation_id", "phone"),
        Index("ix_alert_call_state", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    escalation_id: Mapped[int] = mapped_column(ForeignKey("escalation.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    phone: Mapped[str] = mapped_column(String(32))
    code: Mapped[str] = mapped_column(String(40), unique=True)
    language: Mapped[str] = mapped_column(String(10), default="zh-CN")
    state: Mapped[str] = mapped_column(String(10), default="queued")  # → dialing → placed → ended
    status: Mapped[str | None] = mapped_column(String(16))  # the carrier's final CallStatus
    outcome: Mapped[str | None] = mapped_column(String(24))  # acknowledged | unconfirmed | …
    call_sid: Mapped[str | None] = mapped_column(String(64), unique=True)
    flow_state: Mapped[dict[str, Any] | None] = mapped_column(Json)
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime]
    placed_at: Mapped[dt.datetime | None]
    answered_at: Mapped[dt.datetime | None]
    ended_at: Mapped[dt.datetime | None]

    escalation: Mapped[Escalation] = relationship()
    staff: Mapped[Staff | None] = relationship()


class ServiceOrder(Base):
    """A household's request (代买代送): groceries, medicine, supplies, garbage pickup."""

    __tablename__ = "service_order"
    __table_args__ = (
        UniqueConstraint("resident_id", "need", "local_date"),
        Index("ix_service_order_status", "community_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("resident.id"))
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id"))
    checkin_id: Mapped[int | None] = mapped_column(ForeignKey("checkin.id"))
    need: Mapped[str] = mapped_column(String(32))
    local_date: Mapped[dt.date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(12), default="open")
    opened_at: Mapped[dt.datetime]
    taken_by: Mapped[str | None] = mapped_column(String(100))
    taken_at: Mapped[dt.datetime | None]
    delivered_by: Mapped[str | None] = mapped_column(String(100))
    delivered_at: Mapped[dt.datetime | None]
    cancelled_at: Mapped[dt.datetime | None]
    note: Mapped[str | None] = mapped_column(Text)
    eta_at: Mapped[dt.datetime | None]  # when staff expect to deliver it (told to the resident)
    # The last status the resident was told of in a call (taken | delivered); None: none yet.
    announced: Mapped[str | None] = mapped_column(String(12))
    reminded_at: Mapped[dt.datetime | None]  # staff were last reminded it is still not taken
    reminders: Mapped[int] = mapped_column(default=0, server_default="0")  # how many times

    resident: Mapped[Resident] = relationship()
    community: Mapped[Community] = relationship()


class Notice(Base):
    """A community notice read in the calls from ``starts_on`` to ``ends_on`` (local dates,
    inclusive); ``community_id`` None: every community (a supervisor's)."""

    __tablename__ = "notice"
    __table_args__ = (Index("ix_notice_days", "ends_on", "starts_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int | None] = mapped_column(ForeignKey("community.id"), index=True)
    text: Mapped[str] = mapped_column(Text)
    starts_on: Mapped[dt.date] = mapped_column(Date)
    ends_on: Mapped[dt.date] = mapped_column(Date)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[dt.datetime]
    removed_at: Mapped[dt.datetime | None]
    # The file staff uploaded to be played instead of TTS (``ivr.domain.notice_recordings``).
    recording: Mapped[str | None] = mapped_column(String(64))

    community: Mapped[Community | None] = relationship()


class NoticeHeard(Base):
    """A resident heard a notice on a local day: the unique key keeps it to once a day."""

    __tablename__ = "notice_heard"
    __table_args__ = (UniqueConstraint("notice_id", "resident_id", "local_date"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("notice.id", ondelete="CASCADE"))
    resident_id: Mapped[int] = mapped_column(ForeignKey("resident.id"), index=True)
    local_date: Mapped[dt.date] = mapped_column(Date)
    attempt_id: Mapped[int | None] = mapped_column(ForeignKey("call_attempt.id"))
    at: Mapped[dt.datetime]


class AuditEntry(Base):
    """Who did what, when: every change to an escalation, order, resident or setting."""

    __tablename__ = "audit_entry"
    __table_args__ = (Index("ix_audit_entry_entity", "entity", "entity_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime]
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(40))
    entity: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[int | None] = mapped_column(Integer)
    detail: Mapped[str | None] = mapped_column(Text)


class LoginCounter(Base):
    """Failed dashboard logins of one phone-and-address pair, one address or one account
    (``ivr.web.dashboard.throttle``). In the database, not in memory, so the limit on password
    guessing holds across every web process; a login locks its rows while it counts."""

    __tablename__ = "login_counter"
    __table_args__ = (Index("ix_login_counter_last_at", "last_at"),)

    kind: Mapped[str] = mapped_column(String(8), primary_key=True)  # pair | address | account
    phone: Mapped[str] = mapped_column(String(32), primary_key=True)  # "" for an address
    ip: Mapped[str] = mapped_column(String(64), primary_key=True)  # "" for an account
    failures: Mapped[int] = mapped_column(Integer, default=0)
    window_start: Mapped[dt.datetime]
    last_at: Mapped[dt.datetime]


class SystemState(Base):
    """Small shared facts between processes: the dialing pace, a halt, worker heartbeats."""

    __tablename__ = "system_state"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str | None] = mapped_column(Text)
    at: Mapped[dt.datetime | None]


class StatsDay(Base):
    """One community's statistics of one closed local day: exactly what the statistics page
    computes from the raw rows for that day (a roll-up, never written by hand)."""

    __tablename__ = "stats_day"

    local_date: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id"), primary_key=True)
    monitored: Mapped[int] = mapped_column(Integer)
    answered: Mapped[int] = mapped_column(Integer)
    fevers: Mapped[int] = mapped_column(Integer)
    missed: Mapped[int] = mapped_column(Integer)
    escalations_opened: Mapped[int] = mapped_column(Integer)
    escalations_resolved: Mapped[int] = mapped_column(Integer)
    median_ack_minutes: Mapped[float | None] = mapped_column(Float)
    orders_opened: Mapped[int] = mapped_column(Integer)
    orders_delivered: Mapped[int] = mapped_column(Integer)


class StatsDayDone(Base):
    """A local day whose ``stats_day`` rows are complete, and the settings they were counted
    with (another fever threshold or time zone counts the day again)."""

    __tablename__ = "stats_day_done"

    local_date: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    fever_c: Mapped[Decimal] = mapped_column(Numeric(4, 1))
    time_zone: Mapped[str] = mapped_column(String(64))
    computed_at: Mapped[dt.datetime]


class StatsDayStale(Base):
    """A change to a day already closed (a late answer, an acknowledgement after midnight): the
    day's roll-up is not read until it is counted again, which deletes the marks it saw."""

    __tablename__ = "stats_day_stale"

    id: Mapped[int] = mapped_column(primary_key=True)
    local_date: Mapped[dt.date] = mapped_column(Date, index=True)
    marked_at: Mapped[dt.datetime]
