"""Group-chat robots: WeCom, DingTalk and generic JSON posts, retried against a real HTTP server.

The server is a tiny WSGI app on a loopback port that fails the first N requests, as a chat
service under load or briefly down would.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest
from werkzeug.serving import make_server

from ivr.jobs import Jobs
from ivr.notifiers import Alert, NotifyError
from ivr.notifiers.chat import ChatNotifier
from tests.helpers import add_resident
from tests.ivr.alerting import notifications, open_escalation, set_chat, staff_member, texts_to

ALICE = "+8613903710011"


@dataclass
class ChatServer:
    """Answers ``failures`` requests with ``fail_status`` (or a refusing errcode), then accepts."""

    failures: int = 0
    fail_status: int = 500
    fail_errcode: int | None = None
    received: list[dict[str, Any]] = field(default_factory=list)
    url: str = ""

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        size = int(environ.get("CONTENT_LENGTH") or 0)
        self.received.append(json.loads(environ["wsgi.input"].read(size)))
        if len(self.received) <= self.failures:
            if self.fail_errcode is not None:
                return self._reply(start_response, "200 OK", self.fail_errcode)
            return self._reply(start_response, f"{self.fail_status} Oops", 1)
        return self._reply(start_response, "200 OK", 0)

    @staticmethod
    def _reply(start_response: Any, status: str, errcode: int) -> list[bytes]:
        start_response(status, [("Content-Type", "application/json")])
        return [json.dumps({"errcode": errcode, "errmsg": "ok" if not errcode else "no"}).encode()]


@pytest.fixture
def chat_server() -> Iterator[ChatServer]:
    app = ChatServer()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    app.url = f"http://127.0.0.1:{server.server_port}/cgi-bin/webhook/send?key=secret-key"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield app
    server.shutdown()
    thread.join(5)


def alert(**changes: Any) -> Alert:
    values: dict[str, Any] = {
        "escalation_id": 12,
        "kind": "opened",
        "reason": "high_fever",
        "severity": "urgent",
        "resident": "张桂兰",
        "phone": "+8613803710103",
        "phone_display": "138 0371 0103",
        "address": "桐柏路88号院6号楼3单元101",
        "community": "中原社区",
        "hotline": "0371 6788 0001",
        "temperature_c": Decimal("39.2"),
        "opened_at": dt.datetime(2026, 11, 28, 1, 5, tzinfo=dt.UTC),
        "opened_local": "11-28 09:05",
        "ack_code": "4821",
        "detail": "39.2 °C ≥ 38.5 °C",
    }
    return Alert(**{**values, **changes})


def test_wecom_gets_a_markdown_message_with_everything_staff_need() -> None:
    payload = ChatNotifier("wecom").payload(alert())
    assert payload["msgtype"] == "markdown"
    content = payload["markdown"]["content"]
    assert content.splitlines()[0] == "### 【平安】紧急：张桂兰 高烧 39.2℃"
    for part in (
        "中原社区",
        "桐柏路88号院6号楼3单元101",
        "138 0371 0103",
        "**4821**",
        "11-28 09:05",
    ):
        assert part in content


def test_dingtalk_gets_a_title_and_markdown_text() -> None:
    payload = ChatNotifier("dingtalk").payload(alert(kind="reminder", reminder=2, waited_min=30))
    assert payload["msgtype"] == "markdown"
    assert payload["markdown"]["title"] == "【平安】第2次提醒·紧急：张桂兰 高烧 39.2℃"
    assert "30分钟未确认" in payload["markdown"]["text"]


def test_generic_json_carries_structured_fields() -> None:
    payload = ChatNotifier("json").payload(alert())
    assert payload == {
        "event": "escalation.opened",
        "id": 12,
        "reason": "high_fever",
        "reason_text": "高烧",
        "severity": "urgent",
        "resident": "张桂兰",
        "phone": "+8613803710103",
        "address": "桐柏路88号院6号楼3单元101",
        "community": "中原社区",
        "temperature_c": 39.2,
        "opened_at": "2026-11-28T01:05:00+00:00",
        "ack_code": "4821",
        "detail": "39.2 °C ≥ 38.5 °C",
        "reminder": 0,
        "text": "【平安】紧急：张桂兰 高烧 39.2℃",
    }


def test_a_robot_answering_200_with_an_errcode_is_a_failure(chat_server: ChatServer) -> None:
    chat_server.failures, chat_server.fail_errcode = 1, 93000
    notifier = ChatNotifier("wecom")
    with pytest.raises(NotifyError) as refused:
        notifier.send(chat_server.url, notifier.compose(alert()))
    assert not refused.value.permanent
    assert notifier.send(chat_server.url, notifier.compose(alert())) is None


def test_an_unreachable_chat_server_is_tried_again() -> None:
    notifier = ChatNotifier("json", timeout_s=2)
    with pytest.raises(NotifyError) as unreachable:
        notifier.send("http://127.0.0.1:9/hook", "{}")
    assert not unreachable.value.permanent


def test_a_client_error_is_not_retried(chat_server: ChatServer) -> None:
    chat_server.failures, chat_server.fail_status = 1, 404
    with pytest.raises(NotifyError) as refused:
        ChatNotifier("json").send(chat_server.url, "{}")
    assert refused.value.permanent


@pytest.mark.parametrize("chat_format", ["wecom", "dingtalk", "json"])
def test_the_chat_post_is_retried_until_it_goes_through(
    app, carrier, clock, chat_server: ChatServer, chat_format: str
) -> None:
    chat_server.failures = 2
    staff_member(app, "赵红梅", ALICE)
    set_chat(app, chat_server.url, chat_format)
    open_escalation(app, add_resident(app, "张桂兰", "+8613803710103"))
    jobs = Jobs(app, worker="w")
    assert jobs.send_alerts() == 1  # the SMS went out; the chat failed
    assert len(texts_to(carrier, ALICE)) == 1
    (chat,) = notifications(app, channel=chat_format)
    assert chat.status == "pending" and chat.tries == 1 and chat.error.startswith("HTTP 500")
    clock.advance(seconds=30)
    assert jobs.send_alerts() == 0  # second failure: next try in 60 s
    clock.advance(seconds=59)
    assert jobs.send_alerts() == 0
    clock.advance(seconds=1)
    assert jobs.send_alerts() == 1
    (chat,) = notifications(app, channel=chat_format)
    assert chat.status == "sent" and chat.tries == 3 and chat.error is None
    assert len(chat_server.received) == 3
    assert chat_server.received[-1] == json.loads(chat.body)


def test_a_chat_that_keeps_failing_gives_up_and_never_blocks_the_sms(
    app, carrier, clock, chat_server: ChatServer
) -> None:
    chat_server.failures = 99
    staff_member(app, "赵红梅", ALICE)
    set_chat(app, chat_server.url, "wecom")
    open_escalation(app, add_resident(app, "张桂兰", "+8613803710103"))
    jobs = Jobs(app, worker="w")
    for _ in range(6):
        jobs.send_alerts()
        clock.advance(minutes=10)
    (chat,) = notifications(app, channel="wecom")
    assert chat.status == "failed" and chat.tries == 5 and "HTTP 500" in (chat.error or "")
    assert [n.status for n in notifications(app, channel="sms")] == ["sent"]
