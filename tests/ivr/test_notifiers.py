"""Group-chat robots: WeCom, DingTalk and generic JSON posts, retried against a real HTTP server.

The server is a tiny WSGI app on a loopback port that fails the first N requests, as a chat
service under load or briefly down would.
"""

from __future__ import annotations

import datetime as dt
import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest
from werkzeug.serving import make_server

from ivr.carriers.telephony import TextMessage
from ivr.db import session_scope, sessions
from ivr.domain import orders
from ivr.domain.alerts import SMS_LANE, STUCK_AFTER_S, claim_due
from ivr.notifiers import Alert, NotifyError
from ivr.notifiers.chat import ChatNotifier
from ivr.worker.jobs import Jobs
from storage import Resident
from tests.conftest import SHANGHAI
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
    assert content.splitlines()[0] == "### 【平安】紧急：张桂兰 高热 39.2℃"
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
    assert payload["markdown"]["title"] == "【平安】第2次提醒·紧急：张桂兰 高热 39.2℃"
    assert "30分钟未确认" in payload["markdown"]["text"]


def test_generic_json_carries_structured_fields() -> None:
    payload = ChatNotifier("json").payload(alert())
    assert payload == {
        "event": "escalation.opened",
        "id": 12,
        "reason": "high_fever",
        "reason_text": "高热",
        "severity": "urgent",
        "resident": "张桂兰",
        "phone": "+8613803710103",
        "address": "桐柏路88号院6号楼3单元101",
        "community": "中原社区",
        "temperature_c": 39.2,
        "temperature_confirmed": True,
        "opened_at": "2026-11-28T01:05:00+00:00",
        "ack_code": "4821",
        "detail": "39.2 °C ≥ 38.5 °C",
        "reminder": 0,
        "text": "【平安】紧急：张桂兰 高热 39.2℃",
    }


def test_a_robot_answering_200_with_an_errcode_is_a_failure(chat_server: ChatServer) -> None:
    chat_server.failures, chat_server.fail_errcode = 1, 93000
    notifier = ChatNotifier("wecom")
    with pytest.raises(NotifyError) as refused:
        notifier.send(chat_server.url, notifier.compose(alert()), "ref-1")
    assert not refused.value.permanent
    assert notifier.send(chat_server.url, notifier.compose(alert()), "ref-1") is None


def test_an_unreachable_chat_server_is_tried_again() -> None:
    notifier = ChatNotifier("json", timeout_s=2)
    with pytest.raises(NotifyError) as unreachable:
        notifier.send("http://127.0.0.1:9/hook", TextMessage("{}"), "ref-1")
    assert not unreachable.value.permanent


def test_a_client_error_is_not_retried(chat_server: ChatServer) -> None:
    chat_server.failures, chat_server.fail_status = 1, 404
    with pytest.raises(NotifyError) as refused:
        ChatNotifier("json").send(chat_server.url, TextMessage("{}"), "ref-1")
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


def test_a_chat_that_keeps_failing_is_still_retried_and_never_blocks_the_sms(
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
    assert chat.status == "pending" and chat.tries == 6 and "HTTP 500" in (chat.error or "")
    assert [n.status for n in notifications(app, channel="sms")] == ["sent"]


def test_a_chat_server_that_hangs_never_holds_up_the_sms(app, carrier, clock) -> None:
    # The scheduler runs texts and chats as separate jobs: a chat post stuck for its whole
    # timeout (10 s) must not delay the staff's SMS, which are due within a minute.
    hanging = socket.create_server(("127.0.0.1", 0))  # accepts connections, never answers
    staff = [ALICE, "+8613903710012", "+8613903710013"]
    for n, phone in enumerate(staff):
        staff_member(app, f"值班员{n}", phone)
    set_chat(app, f"http://127.0.0.1:{hanging.getsockname()[1]}/hook", "wecom")
    open_escalation(app, add_resident(app, "张桂兰", "+8613803710103"))
    jobs = Jobs(app, worker="w")
    chats = threading.Thread(target=jobs.send_chats)
    chats.start()
    try:
        started = time.monotonic()
        assert jobs.send_texts() == 3
        assert time.monotonic() - started < 5 and chats.is_alive()
        assert all(len(texts_to(carrier, phone)) == 1 for phone in staff)
    finally:
        chats.join(60)
        hanging.close()
    # It hung after the post was sent: possibly posted, so not posted again (test_hung_alerts).
    (chat,) = notifications(app, channel="wecom")
    assert chat.status == "maybe_sent" and chat.tries == 1


def test_a_row_taken_over_by_another_worker_is_not_sent_twice(app, carrier, clock) -> None:
    staff_member(app, "赵红梅", ALICE)
    open_escalation(app, add_resident(app, "张桂兰", "+8613803710103"))
    slow, other = Jobs(app, worker="slow"), Jobs(app, worker="other")
    with sessions(app).begin() as session:
        (claimed,) = claim_due(session, clock.now(), "slow", 10, SMS_LANE)
    clock.advance(seconds=STUCK_AFTER_S + 1)  # "slow" looks dead: its row is re-queued
    assert other.send_texts() == 1
    assert slow.senders[SMS_LANE]._deliver(claimed) == 0
    assert len(texts_to(carrier, ALICE)) == 1


def test_texts_and_the_dashboard_use_the_same_words_for_every_reason() -> None:
    from ivr.notifiers.base import reason_words
    from ivr.web.dashboard.labels import REASONS

    assert {r: reason_words(r) for r in REASONS} == {r: str(w) for r, w in REASONS.items()}


@pytest.mark.parametrize("chat_format", ["wecom", "dingtalk", "json"])
def test_a_need_nobody_took_is_posted_to_the_community_chat_too(
    app, carrier, clock, chat_server: ChatServer, chat_format: str
) -> None:
    staff_member(app, "赵红梅", ALICE)
    set_chat(app, chat_server.url, chat_format)
    resident_id = add_resident(app, "王秀英", "+8613803710101", address="建设西路12号院[1](x.cn)")
    with session_scope(app) as session:
        resident = session.get(Resident, resident_id)
        orders.open_orders(session, resident, ["medicine"], clock.now(), SHANGHAI)
    clock.advance(hours=4)
    jobs = Jobs(app, worker="w")
    jobs.check_sla()
    assert jobs.send_alerts() == 2  # the text to the staff on duty and the group post
    (post,) = chat_server.received
    if chat_format == "json":
        assert (post["event"], post["need"], post["resident"]) == (
            "order.reminder",
            "medicine",
            "王秀英",
        )
        assert "代购药品已4小时无人接单" in post["text"]
    else:
        words = post["markdown"]["content" if chat_format == "wecom" else "text"]
        assert "需求未接单" in words and "王秀英的代购药品已4小时无人接单" in words
        assert "[1](x.cn)" not in words  # an address is plain text, never a link
