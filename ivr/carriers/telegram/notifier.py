"""Escalations to staff on Telegram (and to a community's Telegram group), with 确认 / 已处理
buttons that do what the dashboard's buttons and an SMS reply do.

A notifier like the SMS and group-chat ones (``ivr.notifiers.base``): the alert rows, retries,
reminders and cancellation are ``ivr.domain.alerts``'. The recipient is a chat id. Telegram takes no
idempotency key, so a send whose answer was lost is recorded as possibly sent, not repeated.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import logging
from typing import Any

from ivr.carriers.telegram.chat import Button
from ivr.carriers.telegram.client import BotApi, TelegramError
from ivr.carriers.telegram.texts import word
from ivr.carriers.telephony import TextMessage
from ivr.notifiers.base import Alert, NotifyError, render

log = logging.getLogger(__name__)

CHANNEL = "telegram"
LANG = "zh-CN"  # staff alerts are in the dashboard's first language, as texts are


def buttons(escalation_id: int, status: str) -> dict[str, Any] | None:
    """确认 while open, 已处理 until resolved, nothing after."""
    row = []
    if status == "open":
        row.append(Button(word(LANG, "ack"), f"a:{escalation_id}"))
    if status in ("open", "acknowledged"):
        row.append(Button(word(LANG, "resolve"), f"r:{escalation_id}"))
    if not row:
        return None
    return {"inline_keyboard": [[{"text": b.label, "callback_data": b.data} for b in row]]}


class TelegramNotifier:
    channel = CHANNEL
    resends_unsure = False

    def __init__(self, api: BotApi) -> None:
        self.api = api

    @staticmethod
    def compose(alert: Alert) -> TextMessage:
        context = {
            k: html.escape(v, quote=False) if isinstance(v, str) else v
            for k, v in alert.context().items()
        }
        detail_last = html.escape(alert.latest, quote=False)
        title = html.escape(render("chat_title.txt", **alert.context()), quote=False)
        text = render("telegram.html", title=title, detail_last=detail_last, **context)
        markup = None if alert.kind == "recovered" else buttons(alert.escalation_id, "open")
        return TextMessage(
            json.dumps(
                {"text": text, "parse_mode": "HTML", "reply_markup": markup}, ensure_ascii=False
            )
        )

    def send(self, recipient: str, message: TextMessage, reference: str) -> str | None:
        payload = json.loads(message.body)
        try:
            sent = self.api.send_message(
                recipient, payload["text"], payload.get("reply_markup"), payload.get("parse_mode")
            )
        except TelegramError as exc:
            raise NotifyError(str(exc), exc.permanent, unsure=exc.unsure) from None
        log.info("telegram alert %s delivered to chat %s", reference, recipient)
        return str(sent.get("message_id"))

    def already_sent(self, recipient: str, message: TextMessage, since: dt.datetime) -> str | None:
        return None  # the Bot API cannot be asked what it delivered
