"""Group-chat robots through an outgoing webhook: WeCom (企业微信), DingTalk, or plain JSON.

WeCom and DingTalk group robots take a markdown message and answer HTTP 200 with
``{"errcode": 0}`` on success; any other ``errcode`` is a failure even though the status is 200.
The generic format posts structured fields for other systems to consume.
"""

from __future__ import annotations

import json
import logging
from typing import Any
from urllib.parse import urlsplit

import requests

from ivr.notifiers.base import Alert, NotifyError, render

log = logging.getLogger(__name__)

FORMATS = ("wecom", "dingtalk", "json")
TIMEOUT_S = 10


def webhook_host(url: str) -> str:
    """For logs and listings: the robot's key is in the URL, so show only the host."""
    return urlsplit(url).netloc or "?"


class ChatNotifier:
    def __init__(self, channel: str, timeout_s: float = TIMEOUT_S) -> None:
        if channel not in FORMATS:
            raise ValueError(f"unknown chat format {channel!r}")
        self.channel = channel
        self.timeout_s = timeout_s

    def compose(self, alert: Alert) -> str:
        return json.dumps(self.payload(alert), ensure_ascii=False)

    def payload(self, alert: Alert) -> dict[str, Any]:
        context = alert.context()
        title = render("chat_title.txt", **context)
        detail_last = (alert.detail.splitlines() or [""])[-1]
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
            "opened_at": alert.opened_at.isoformat(),
            "ack_code": alert.ack_code,
            "detail": alert.detail,
            "reminder": alert.reminder,
            "text": title,
        }
        if alert.kind == "recovered":
            payload["reading_c"] = float(alert.reading_c) if alert.reading_c is not None else None
        return payload

    def send(self, recipient: str, body: str) -> str | None:
        host = webhook_host(recipient)
        try:
            reply = requests.post(
                recipient,
                data=body.encode("utf-8"),
                headers={"Content-Type": "application/json; charset=utf-8"},
                timeout=self.timeout_s,
            )
        except requests.RequestException as exc:
            log.warning("%s webhook %s unreachable: %s", self.channel, host, exc)
            raise NotifyError(f"unreachable: {exc.__class__.__name__}") from exc
        if reply.status_code >= 300:
            # 4xx means the URL or the message is wrong, except when we are only going too fast.
            permanent = 400 <= reply.status_code < 500 and reply.status_code != 429
            log.warning("%s webhook %s answered HTTP %s", self.channel, host, reply.status_code)
            raise NotifyError(f"HTTP {reply.status_code}: {reply.text[:200]}", permanent)
        if self.channel in ("wecom", "dingtalk"):
            self._check_errcode(reply, host)
        log.info("%s webhook %s accepted the post", self.channel, host)
        return None

    def _check_errcode(self, reply: requests.Response, host: str) -> None:
        try:
            answer = reply.json()
        except ValueError:
            answer = None
        if not isinstance(answer, dict) or answer.get("errcode") != 0:
            log.warning("%s webhook %s refused the post: %s", self.channel, host, reply.text[:200])
            raise NotifyError(f"refused: {reply.text[:200]}")
