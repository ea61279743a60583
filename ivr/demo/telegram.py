"""``pingan demo --telegram``: one resident checks in by chat, one staff member acknowledges the
alert from Telegram, both through the Bot API double and the real webhook."""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import select

from ivr import clock_of, settings_of
from ivr.carriers.telegram.bot import bot_of
from ivr.carriers.telegram.double import BotApiDouble, ChatUser
from ivr.carriers.telegram.linking import new_code
from ivr.db import session_scope
from ivr.phones import normalize_phone
from ivr.worker.jobs import Jobs
from storage import Resident, Staff

TOKEN = "100000001:DEMOdemoDEMOdemoDEMOdemoDEMO"
SECRET = "pingan-demo-webhook-secret"
RESIDENT = ("13803710101", 5550101, "秀英")  # 王秀英, 中原社区
STAFF = ("13903710011", 5550011, "红梅")  # 赵红梅, on duty there
CHAT_ANSWERS = (
    ("tap", "开始"),
    ("send", "38.6"),
    ("tap", "对"),
    ("tap", "没有"),
    ("tap", "没有了"),
)


def telegram_settings(double: BotApiDouble) -> dict[str, Any]:
    return {
        "telegram_bot_token": TOKEN,
        "telegram_webhook_secret": SECRET,
        "telegram_api_base": double.base_url,
    }


class TelegramDemo:
    """The two chat users and what they do; ``link`` before the round, ``play`` once the round
    started, ``acknowledge`` after the alerts went out."""

    def __init__(self, app: Flask, double: BotApiDouble) -> None:
        self.app, self.double = app, double
        self.resident = double.user(RESIDENT[1], RESIDENT[2])
        self.staff = double.user(STAFF[1], STAFF[2])

    def link(self, webhook_base: str) -> None:
        bot_of(self.app).set_webhook(f"{webhook_base}/telegram/webhook", SECRET)
        region, now = settings_of(self.app).phone_region, clock_of(self.app).now()
        with session_scope(self.app) as session:
            phone = normalize_phone(RESIDENT[0], region)
            resident = session.scalars(select(Resident).where(Resident.phone == phone)).one()
            staff_phone = normalize_phone(STAFF[0], region)
            staff = session.scalars(select(Staff).where(Staff.phone == staff_phone)).one()
            codes = (
                new_code(session, "demo", now, resident=resident).code,
                new_code(session, "demo", now, staff=staff).code,
            )
        self.resident.send(f"/start {codes[0]}")
        self.staff.send(f"/start {codes[1]}")

    def play(self, jobs: Jobs) -> None:
        jobs.chat_checkins()
        for how, what in CHAT_ANSWERS:
            _act(self.resident, how, what)

    def acknowledge(self, jobs: Jobs) -> None:
        jobs.send_alerts()
        _act(self.staff, "tap", "确认", under="王秀英")

    def transcript(self) -> str:
        lines = ["", "Telegram:", *(f"  {line}" for line in self.resident.transcript())]
        lines += ["", *(f"  {line}" for line in self.staff.transcript())]
        return "\n".join(lines)


def _act(user: ChatUser, how: str, what: str, under: str = "") -> None:
    status = user.tap(what, under=under) if how == "tap" else user.send(what)
    if status != 200:
        raise RuntimeError(f"the webhook answered {status} to {how} {what!r}")
