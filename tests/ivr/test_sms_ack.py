"""Staff acknowledge an escalation by replying to the alert SMS with its code.

The simulated carrier posts a signed inbound-SMS webhook over HTTP, as Twilio does; the app
answers with TwiML ``<Message>``.
"""

from __future__ import annotations

import pytest
import requests
from sqlalchemy import select

from ivr.db import session_scope
from ivr.web.sms import parse_code
from storage import AuditEntry
from tests.helpers import add_resident
from tests.ivr.alerting import escalation, open_escalation, staff_member

ALICE = "+8613903710011"  # 中原社区
OTHER = "+8613903710021"  # 康桥华城社区
BOSS = "+8613903710099"  # supervisor of every community
APP_NUMBER = "+8657100000000"


@pytest.fixture
def urgent(app) -> tuple[int, str]:
    staff_member(app, "赵红梅", ALICE)
    staff_member(app, "孙丽", OTHER, community="康桥华城社区")
    escalation_id = open_escalation(app, add_resident(app, "张桂兰", "+8613803710103"))
    code = escalation(app, escalation_id).ack_code
    assert code is not None and len(code) == 4 and code.isdigit()
    return escalation_id, code


def text(carrier, server: str, sender: str, body: str) -> str:
    status, answer = carrier.incoming_sms(sender, APP_NUMBER, body, f"{server}/sms/incoming")
    assert status == 200 and answer.startswith("<?xml") and "<Message>" in answer
    return answer


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ("4821", "4821"),
        (" ack 4821 ", "4821"),
        ("ACK:4821", "4821"),
        ("确认4821", "4821"),
        ("收到 ４８２１。", "4821"),
        ("hello", None),
        ("4821 4822", None),
        ("STOP", None),
    ],
)
def test_the_code_is_found_in_what_people_actually_type(body: str, code: str | None) -> None:
    assert parse_code(body) == code


def test_replying_with_the_code_acknowledges_the_escalation(
    app, carrier, server, urgent, clock
) -> None:
    escalation_id, code = urgent
    answer = text(carrier, server, ALICE, f"确认 {code}")
    assert "已确认：张桂兰，高热（中原社区，事件" in answer
    found = escalation(app, escalation_id)
    assert found.status == "acknowledged" and found.acknowledged_by == "赵红梅"
    assert found.acknowledged_at == clock.now() and found.remind_at is None
    with session_scope(app) as session:
        (entry,) = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "acknowledged")
        ).all()
    assert entry.actor == "赵红梅" and "sms" in (entry.detail or "")


def test_a_second_reply_says_it_was_already_acknowledged(app, carrier, server, urgent) -> None:
    _, code = urgent
    text(carrier, server, ALICE, code)
    answer = text(carrier, server, ALICE, code)
    assert "已由赵红梅确认" in answer


def test_a_wrong_code_changes_nothing(app, carrier, server, urgent) -> None:
    escalation_id, code = urgent
    wrong = "0000" if code != "0000" else "1111"
    answer = text(carrier, server, ALICE, wrong)
    assert f"确认码 {wrong} 无效" in answer
    assert escalation(app, escalation_id).status == "open"


def test_a_code_from_another_community_changes_nothing(app, carrier, server, urgent) -> None:
    escalation_id, code = urgent
    answer = text(carrier, server, OTHER, code)
    wrong = "0000" if code != "0000" else "1111"
    # Answered exactly like a code that does not exist: the reply must not confirm that this
    # code is live in another community.
    assert answer.replace(code, wrong) == text(carrier, server, OTHER, wrong)
    assert escalation(app, escalation_id).status == "open"


def test_a_supervisor_of_every_community_may_acknowledge(app, carrier, server, urgent) -> None:
    staff_member(app, "周主任", BOSS, community=None, role="supervisor")
    escalation_id, code = urgent
    text(carrier, server, BOSS, code)
    assert escalation(app, escalation_id).acknowledged_by == "周主任"


def test_an_unknown_phone_changes_nothing(app, carrier, server, urgent) -> None:
    escalation_id, code = urgent
    answer = text(carrier, server, "+8613800000000", code)
    assert "未登记为社区工作人员" in answer
    assert escalation(app, escalation_id).status == "open"


def test_a_text_without_a_code_gets_a_hint(app, carrier, server, urgent) -> None:
    assert "未识别到确认码" in text(carrier, server, ALICE, "好的，马上去")


def test_an_unsigned_sms_webhook_is_refused(app, server, urgent) -> None:
    escalation_id, code = urgent
    answer = requests.post(f"{server}/sms/incoming", data={"From": ALICE, "Body": code}, timeout=10)
    assert answer.status_code == 403
    assert escalation(app, escalation_id).status == "open"
