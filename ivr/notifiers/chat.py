"""Group-chat robots through an outgoing webhook: WeCom (企业微信), DingTalk, or plain JSON.

WeCom and DingTalk group robots take a markdown message and answer HTTP 200 with
``{"errcode": 0}`` on success; any other ``errcode`` is a failure even though the status is 200.
The generic format posts structured fields for other systems to consume.

Every field of a markdown post is escaped for that robot's markup (``escape_markup``): a
resident named ``[点此登记](http://evil.example)`` must reach the staff group as that text, not as
a link. Neither robot documents a backslash escape, so each character that its markdown gives a
meaning to is replaced by its full-width twin, which reads the same to a person.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import Any
from urllib.parse import urlsplit

import requests

from ivr.carriers.ambiguity import may_have_arrived
from ivr.carriers.telephony import TextMessage
from ivr.notifiers.base import Alert, NotifyError, render

log = logging.getLogger(__name__)

FORMATS = ("wecom", "dingtalk", "json")
TIMEOUT_S = 10

# WeCom "markdown": headings, bold/italic, links, inline code, quotes, <font color> and
# <@userid> mentions. DingTalk adds images (![..](..)), lists, tables and more inline HTML.
_MARKDOWN = "[]()*_`~#>&<"
MARKUP_CHARS = {"wecom": _MARKDOWN, "dingtalk": _MARKDOWN + "!|"}
_FULL_WIDTH = {c: chr(ord(c) + 0xFEE0) for c in _MARKDOWN + "!|:"}


def webhook_host(url: str) -> str:
    """For logs and listings: the robot's key is in the URL, so show only the host."""
    return urlsplit(url).netloc or "?"


class ChatNotifier:
    def __init__(self, channel: str, timeout_s: float = TIMEOUT_S) -> None:
        if channel not in FORMATS:
            raise ValueError(f"unknown chat format {channel!r}")
        self.channel = channel
        self.timeout_s = timeout_s
        # WeCom and DingTalk group robots take no message id to deduplicate a repeated post;
        # a JSON receiver gets the same Idempotency-Key on every try of one notification.
        self.resends_unsure = channel == "json"

    def compose(self, alert: Alert) -> TextMessage:
        return TextMessage(json.dumps(self.payload(alert), ensure_ascii=False))

    def payload(self, alert: Alert) -> dict[str, Any]:
        context = alert.context()
        detail_last = alert.latest
        if self.channel in MARKUP_CHARS:
            context = {k: self._escaped(v) for k, v in context.items()}
            detail_last = escape_markup(self.channel, detail_last)
        title = render("chat_title.txt", **context)
        text = render("chat.md", title=title, detail_last=detail_last, **context)
        if self.channel == "wecom":
            return {"msgtype": "markdown", "markdown": {"content": text}}
        if self.channel == "dingtalk":
            return {"msgtype": "markdown", "markdown": {"title": title, "text": text}}
        payload: dict[str, Any] = {
            "event": f"escalation.{alert.kind}",
            "id": alert.escalation_id,
            "reason": alert.reason,
            "reason_text": context["reason_words"],
            "severity": alert.severity,
            "resident": alert.resident,
            "phone": alert.phone,
            "address": alert.address,
            "community": alert.community,
            "temperature_c": (
                float(alert.temperature_c) if alert.temperature_c is not None else None
            ),
            "temperature_confirmed": alert.temperature_confirmed,
            "opened_at": alert.opened_at.isoformat(),
            "ack_code": alert.ack_code,
            "detail": alert.detail,
            "reminder": alert.reminder,
            "text": title,
        }
        if alert.kind == "recovered":
            payload["reading_c"] = float(alert.reading_c) if alert.reading_c is not None else None
        return payload

    def _escaped(self, value: Any) -> Any:
        return escape_markup(self.channel, value) if isinstance(value, str) else value

    def send(self, recipient: str, message: TextMessage, reference: str) -> str | None:
        body = message.body
        host = webhook_host(recipient)
        headers = {"Content-Type": "application/json; charset=utf-8"}
        if self.channel == "json":
            headers["Idempotency-Key"] = reference
        try:
            reply = requests.post(
                recipient, data=body.encode("utf-8"), headers=headers, timeout=self.timeout_s
            )
        except requests.RequestException as exc:
            unsure = may_have_arrived(exc)
            log.warning(
                "%s webhook %s %s: %s",
                self.channel,
                host,
                "did not answer (the post may have arrived)" if unsure else "unreachable",
                exc,
            )
            raise NotifyError(f"unreachable: {exc.__class__.__name__}", unsure=unsure) from exc
        if reply.status_code >= 300:
            # 4xx means the URL or the message is wrong, except when we are only going too fast.
            permanent = 400 <= reply.status_code < 500 and reply.status_code != 429
            log.warning("%s webhook %s answered HTTP %s", self.channel, host, reply.status_code)
            raise NotifyError(f"HTTP {reply.status_code}: {reply.text[:200]}", permanent)
        if self.channel in ("wecom", "dingtalk"):
            self._check_errcode(reply, host)
        log.info("%s webhook %s accepted the post", self.channel, host)
        return None

    def already_sent(self, recipient: str, message: TextMessage, since: dt.datetime) -> str | None:
        return None  # a robot cannot be asked; the JSON receiver deduplicates by key

    def _check_errcode(self, reply: requests.Response, host: str) -> None:
        try:
            answer = reply.json()
        except ValueError:
            answer = None
        if not isinstance(answer, dict) or answer.get("errcode") != 0:
            log.warning("%s webhook %s refused the post: %s", self.channel, host, reply.text[:200])
            raise NotifyError(f"refused: {reply.text[:200]}")


def compose_note(channel: str, title: str, text: str, fields: dict[str, Any]) -> TextMessage:
    """A post that is not an escalation's (an order nobody took) for a community's group chat:
    ``text`` as the robot shows it, ``fields`` for a JSON receiver. A Telegram group takes the
    Telegram notifier's message (plain text: no markup to escape, no buttons)."""
    if channel == "telegram":
        payload: dict[str, Any] = {"text": text, "reply_markup": None}
    elif channel in MARKUP_CHARS:
        title, words = escape_markup(channel, title), escape_markup(channel, text)
        content = f"### {title}\n{words}"
        markdown = {"content": content} if channel == "wecom" else {"title": title, "text": content}
        payload = {"msgtype": "markdown", "markdown": markdown}
    else:
        payload = {**fields, "text": text}
    return TextMessage(json.dumps(payload, ensure_ascii=False))


def escape_markup(channel: str, value: str) -> str:
    """``value`` as plain text inside ``channel``'s markdown: one line, no markup, no autolink."""
    one_line = " ".join(value.split("\n")).replace("\r", " ")
    table = {ord(c): _FULL_WIDTH[c] for c in MARKUP_CHARS[channel]}
    plain = one_line.translate(table)
    return plain.replace("://", _FULL_WIDTH[":"] + "//")
