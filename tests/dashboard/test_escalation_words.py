"""What happened to a resident is said in the reader's words, never in the system's English:
"第 1 次 09:00：无人接听" on the escalation page, not "attempt 1 09:00: no-answer"."""

from __future__ import annotations

import json
import re
from decimal import Decimal

from sqlalchemy import select

from ivr import flow_of, settings_of
from ivr.db import session_scope
from ivr.domain import alerts
from ivr.domain.checkins import record_on_behalf
from ivr.notifiers.chat import ChatNotifier
from storage import Escalation, Resident
from tests.dashboard.pages import signed_in, text
from tests.ivr.alerting import open_escalation

SYSTEM_ENGLISH = re.compile(r"attempt \d|no-answer|symptoms = |high_fever|urgent|\(unconfirmed\)")


def escalation_of(app, reason: str) -> Escalation:
    with session_scope(app) as session:
        return session.scalars(select(Escalation).where(Escalation.reason == reason)).one()


def detail_of(page: str) -> str:
    return page.split('<dd class="pre">')[1].split("</dd>")[0]


def history_of(page: str) -> str:
    return page.split('<ol class="timeline">')[1].split("</ol>")[0]


def test_an_unreachable_residents_page_says_each_call_in_the_viewers_language(
    app, people, round_done
) -> None:
    unreachable = escalation_of(app, "unreachable")
    assert "no-answer" in unreachable.detail  # the English line the CLI and the API keep
    client = signed_in(app, people.supervisor)
    page = text(client.get(f"/escalations/{unreachable.id}"))
    assert re.fullmatch(
        r"第 1 次 \d\d:\d\d：无人接听(；第 \d 次 \d\d:\d\d：无人接听)*", detail_of(page)
    )
    assert re.search(r"重要：第 1 次 \d\d:\d\d：无人接听", history_of(page))
    assert not SYSTEM_ENGLISH.search(detail_of(page) + history_of(page))
    english = text(client.get(f"/escalations/{unreachable.id}?lang=en"))
    assert re.match(r"attempt 1 \d\d:\d\d: No answer", detail_of(english))
    assert "no-answer" not in detail_of(english) and "：" not in detail_of(english)


def test_a_fever_with_symptoms_says_the_reading_and_the_answer_in_words(app, people, clock) -> None:
    with session_scope(app) as session:
        resident = session.get(Resident, people.resident_a)
        assert resident is not None
        record_on_behalf(
            session, resident, Decimal("39.2"), True, [], "赵红梅", clock.now(),
            settings_of(app), flow_of(app),
        )  # fmt: skip
    fever, symptoms = escalation_of(app, "high_fever"), escalation_of(app, "symptoms")
    client = signed_in(app, people.staff_a)
    page = text(client.get(f"/escalations/{fever.id}"))
    assert detail_of(page) == "体温 39.2 °C（≥ 38.5 °C）"
    assert "开启 紧急：体温 39.2 °C（≥ 38.5 °C）" in history_of(page)
    assert detail_of(text(client.get(f"/escalations/{symptoms.id}"))) == "有无症状：是"
    english = text(client.get(f"/escalations/{symptoms.id}?lang=en"))
    assert detail_of(english) == "Symptoms: Yes"
    said = detail_of(page) + history_of(page) + detail_of(english) + history_of(english)
    assert not SYSTEM_ENGLISH.search(said)
    assert "系统 · 开启" in history_of(page) and "system ·" not in history_of(page)


def test_the_acknowledgement_and_the_recovery_in_the_history_are_in_words(
    app, people, round_done, clock
) -> None:
    unreachable = escalation_of(app, "unreachable")
    client = signed_in(app, people.supervisor)
    token_page = client.get(f"/escalations/{unreachable.id}")
    assert token_page.status_code == 200
    with session_scope(app) as session:
        resident = session.get(Resident, unreachable.resident_id)
        assert resident is not None
        record_on_behalf(
            session, resident, Decimal("36.6"), False, [], "周主任", clock.now(),
            settings_of(app), flow_of(app),
        )  # fmt: skip
    page = text(client.get(f"/escalations/{unreachable.id}"))
    assert re.search(r"已报平安 \d\d:\d\d 工作人员代登记报平安：36.6 °C", page)  # the outcome
    assert re.search(r"解决 已报平安：\d\d:\d\d 工作人员代登记报平安：36.6 °C", history_of(page))
    assert "check-in" not in page and "recorded by staff" not in page


def test_a_group_chat_post_says_the_latest_event_in_chinese_even_from_an_english_page(
    app, people, round_done
) -> None:
    unreachable = escalation_of(app, "unreachable")
    with app.test_request_context("/escalations?lang=en"), session_scope(app) as session:
        found = session.get(Escalation, unreachable.id)
        assert found is not None
        alert = alerts.alert_for(found, "opened", settings_of(app))
        post = json.loads(ChatNotifier("wecom").compose(alert).body)["markdown"]["content"]
        payload = ChatNotifier("json").payload(alert)
    assert re.search(r"说明：第 1 次 \d\d:\d\d：无人接听", post)
    assert "no-answer" not in post
    assert payload["detail"] == unreachable.detail  # programs keep the stable English line


def test_rows_stored_before_the_facts_still_render(app, people) -> None:
    """As migration 0009 leaves them: facts read from the old English lines (times as written,
    in local time), or a line no rule recognised kept as text."""
    with session_scope(app) as session:
        found = session.get(Escalation, open_escalation(app, people.resident_a, "unreachable"))
        assert found is not None
        found.detail = "attempt 1 22:52: no-answer\nsomething the system once wrote"
        found.facts = [
            {"kind": "attempts", "calls": [
                {"inbound": False, "no": 1, "local": "22:52", "status": "no-answer",
                 "answered_by": None, "outcome": None, "error": None},
                {"inbound": False, "no": 2, "local": "23:02", "status": "ended",
                 "answered_by": None, "outcome": None, "error": None},
            ]},
            {"kind": "text", "text": "something the system once wrote"},
        ]  # fmt: skip
        escalation_id = found.id
    page = text(signed_in(app, people.staff_a).get(f"/escalations/{escalation_id}"))
    assert detail_of(page) == (
        "第 1 次 22:52：无人接听；第 2 次 23:02：已结束\nsomething the system once wrote"
    )
