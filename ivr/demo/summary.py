"""The demo's printed summary: calls, check-ins, the escalation list, staff SMS and orders, in
the deployment's language with the dashboard's words for every status, reason and need."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass
from typing import Any

from flask import Flask
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from ivr import flow_of, settings_of
from ivr.carriers.aliyun.simulator import AliyunSimulator
from ivr.db import session_scope
from ivr.demo.data import SAMPLES
from ivr.domain.orders import order_rows
from ivr.domain.reports import call_rows, checkin_rows, escalation_rows
from ivr.phones import display_phone, normalize_phone
from ivr.tables import format_table, shorten
from ivr.web.dashboard import escalation_words, labels
from ivr.web.dashboard.i18n import speaking
from ivr.web.dashboard.labels import label
from storage import CallAttempt, CallEvent, Notification, Resident, Staff

CHECKIN_COLUMNS = (
    "community",
    "name",
    "status",
    "attempts",
    "temperature_c",
    "symptoms",
    "needs",
    "callback_requested",
)
ESCALATION_COLUMNS = (
    "id",
    "severity",
    "reason",
    "community",
    "name",
    "temperature_c",
    "detail_text",
)
ORDER_COLUMNS = ("id", "community", "name", "address", "need", "status")


def summary(app: Flask, seconds: float) -> str:
    settings = settings_of(app)
    tz = settings.tz
    with session_scope(app) as session:
        checkins = checkin_rows(session, tz, flow=flow_of(app))
        calls = call_rows(session, tz)
        escalations = escalation_rows(session, tz, status="open")
        texts = _texts(session)
        orders = order_rows(session, tz)
        news = _news(session)
    with speaking(app, settings.language):
        return "\n".join(
            [
                *_counts(checkins, calls, seconds),
                _carrier(settings.carrier),
                "",
                _table(CHECKIN_COLUMNS, [_checkin(c) for c in checkins]),
                "",
                _("预警列表（%(n)s 条待处理）：", n=len(escalations)),
                _table(ESCALATION_COLUMNS, [_escalation(e, tz) for e in _by_severity(escalations)]),
                "",
                _("发给值班工作人员的短信（%(n)s 条）：", n=len(texts)),
                format_table(
                    [_("收信人"), _("电话"), _("状态"), _("短信内容")],
                    [_text(t, settings.phone_region) for t in texts],
                ),
                "",
                _("服务订单（%(n)s 个）：", n=len(orders)),
                _table(ORDER_COLUMNS, [_order(o) for o in orders]),
                "",
                _("电话中的播报（%(n)s 条）：", n=len(news)),
                format_table(
                    [_("居民"), _("播报"), _("内容")],
                    [[who, label(labels.EVENT_NAMES, what), said] for who, what, said in news],
                ),
            ]
        )


def transcript(app: Flask, platform: AliyunSimulator) -> str:
    """The first sample resident's call as the platform saw it: callbacks and replies."""
    settings = settings_of(app)
    resident = SAMPLES[0]
    calls = platform.calls_to(normalize_phone(resident.phone, settings.phone_region))
    with speaking(app, settings.language):
        title = _(
            "%(name)s 的通话（阿里云语音服务：→ 回调，← 回复）：",
            name=resident.name,
        )
    return "\n".join([str(title), *(c.transcript() for c in calls[:1])])


def _carrier(carrier: str) -> str:
    if carrier == "aliyun":
        return str(_("运营商：阿里云语音服务（模拟）"))
    return str(_("运营商：Twilio（模拟）"))


def data_hint(app: Flask, url: str) -> str:
    """The line that points the ``pingan`` commands at the demo's database."""
    with speaking(app, settings_of(app).language):
        command = "export PINGAN_DATABASE_URL=" + url
        return str(_("要让 pingan 命令看到这些数据，先执行：%(command)s", command=command))


def _counts(
    checkins: list[dict[str, Any]], calls: list[dict[str, Any]], seconds: float
) -> list[str]:
    statuses = Counter(c["status"] for c in checkins)
    return [
        _(
            "平安演示：%(communities)s 个社区 %(residents)s 位居民，一轮呼叫，用时 %(seconds)s 秒",
            communities=len({c["community"] for c in checkins}),
            residents=len(checkins),
            seconds=round(seconds, 1),
        ),
        _(
            "拨出电话：%(placed)s   接通：%(answered)s   未能拨出：%(not_placed)s",
            placed=sum(1 for c in calls if c["call_sid"]),
            answered=sum(1 for c in calls if c["status"] == "completed"),
            not_placed=sum(1 for c in calls if not c["call_sid"]),
        ),
        _("报平安：")
        + "   ".join(
            f"{label(labels.CHECKIN_STATUSES, s)} {statuses[s]}"
            for s in ("complete", "partial", "missed", "pending")
        ),
    ]


def _table(columns: tuple[str, ...], rows: list[list[Any]]) -> str:
    return format_table([labels.export_column(c) for c in columns], rows)


def _checkin(c: dict[str, Any]) -> list[Any]:
    return [
        c["community"],
        c["name"],
        label(labels.CHECKIN_STATUSES, c["status"]),
        c["attempts"],
        c["temperature_c"],
        _yes_no(c["symptoms"]),
        labels.listing(label(labels.NEEDS, n) for n in c["needs"]) or None,
        _yes_no(c["callback_requested"]),
    ]


def _escalation(e: dict[str, Any], tz: dt.tzinfo) -> list[Any]:
    return [
        e["id"],
        label(labels.SEVERITIES, e["severity"]),
        label(labels.REASONS, e["reason"]),
        e["community"],
        e["name"],
        e["temperature_c"],
        shorten(escalation_words.latest(e["facts"], e["detail"], tz), 70),
    ]


def _order(o: dict[str, Any]) -> list[Any]:
    return [
        o["id"],
        o["community"],
        o["name"],
        o["address"],
        label(labels.NEEDS, o["need"]),
        label(labels.ORDER_STATUSES, o["status"]),
    ]


def _yes_no(value: bool | None) -> str | None:
    return None if value is None else labels.yes_no(value)  # None prints as "-" like the rest


@dataclass(frozen=True)
class _Sent:
    """An SMS alert: the staff member's name (None for a family contact), phone, status, the
    delivery the carrier reported (None before a report) and its code, text."""

    name: str | None
    phone: str
    status: str
    delivery: str | None
    code: str | None
    body: str


def _texts(session: Session) -> list[_Sent]:
    names = {phone: name for phone, name in session.execute(select(Staff.phone, Staff.name))}
    query = (
        select(Notification)
        .where(Notification.channel == "sms")
        .order_by(Notification.escalation_id, Notification.id)
    )
    return [
        _Sent(names.get(n.recipient), n.recipient, n.status, n.delivery, n.delivery_code, n.body)
        for n in session.scalars(query)
    ]


def _news(session: Session) -> list[tuple[str, str, str | None]]:
    """What the calls read after the questions (notices, orders, release day), by resident."""
    query = (
        select(Resident.name, CallEvent.name, CallEvent.detail)
        .join(CallAttempt, CallAttempt.id == CallEvent.attempt_id)
        .join(Resident, Resident.id == CallAttempt.resident_id)
        .where(CallEvent.kind == "news")
        .order_by(CallEvent.id)
    )
    return [(name, what, detail) for name, what, detail in session.execute(query)]


def _text(text: _Sent, region: str) -> list[Any]:
    to = text.name or label(labels.RESIDENT_FIELDS, "emergency_contact")
    return [to, display_phone(text.phone, region), _state(text), text.body]


def _state(text: _Sent) -> str:
    """已发送 until the carrier reports; then 已送达, or 未送达 with the report's code."""
    if text.delivery is None:
        return label(labels.NOTIFICATION_STATUSES, text.status)
    said = label(labels.DELIVERIES, text.delivery)
    return said if text.delivery == "delivered" else f"{said} {text.code or ''}".strip()


def _by_severity(rows: list[dict[str, object]]) -> list[dict[str, object]]:
    rank = {"urgent": 0, "high": 1, "normal": 2}
    return sorted(rows, key=lambda e: (rank.get(str(e["severity"]), 3), str(e["opened_at"])))
