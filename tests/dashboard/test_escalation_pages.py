"""The escalation list, staff's home page: who is in trouble, acknowledged and resolved in a tap."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from sqlalchemy import select

from ivr import flow_of, settings_of
from ivr.db import session_scope
from ivr.domain.checkins import record_on_behalf
from storage import AuditEntry, Escalation, Resident
from tests.dashboard.pages import post, signed_in, text
from tests.helpers import add_resident
from tests.ivr.alerting import escalation, open_escalation


def listed_ids(page: str) -> list[int]:
    return [int(i) for i in re.findall(r'data-escalation="(\d+)"', page)]


def test_open_first_then_urgent_first_then_oldest_first(app, people, clock) -> None:
    others = [
        add_resident(app, f"居民{i}", f"+86138037109{i:02d}", "中原社区", address=f"{i}号楼")
        for i in range(3)
    ]
    old_high = open_escalation(app, people.resident_a, "fever", "high", "37.8")
    clock.advance(minutes=10)
    urgent = open_escalation(app, others[0], "high_fever", "urgent", "39.5")
    clock.advance(minutes=10)
    new_high = open_escalation(app, others[1], "unreachable", "high", None)
    acknowledged_urgent = open_escalation(app, others[2], "high_fever", "urgent", "39.1")
    client = signed_in(app, people.staff_a)
    post(client, f"/escalations/{acknowledged_urgent}/acknowledge")
    clock.advance(minutes=65)
    page = text(client.get("/escalations"))
    assert listed_ids(page) == [urgent, old_high, new_high, acknowledged_urgent]
    assert "建设西路12号院1号楼1单元302" in page and "37.8 °C" in page  # address, temperature
    assert "已持续 1 小时 25 分" in page  # the fever has been open 85 minutes
    assert "赵红梅 已确认" in page


def test_acknowledging_is_one_tap_and_recorded_with_who_and_when(app, people, clock) -> None:
    escalation_id = open_escalation(app, people.resident_a)
    client = signed_in(app, people.staff_a)
    response = post(client, f"/escalations/{escalation_id}/acknowledge")
    assert response.status_code == 302 and response.headers["Location"] == "/escalations"
    found = escalation(app, escalation_id)
    assert found.status == "acknowledged" and found.acknowledged_by == "赵红梅"
    assert found.acknowledged_at == clock.now()
    assert "已确认：李建国（高热）" in text(client.get("/escalations"))
    with session_scope(app) as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "acknowledged")).one()
    assert entry.actor == "赵红梅" and entry.detail == "via dashboard"


def test_resolving_records_the_outcome_and_note(app, people) -> None:
    escalation_id = open_escalation(app, people.resident_a)
    client = signed_in(app, people.staff_a)
    form = {"outcome": "visited", "note": "上门测温 37.0，已好转"}
    assert post(client, f"/escalations/{escalation_id}/resolve", form).status_code == 302
    found = escalation(app, escalation_id)
    assert (found.status, found.outcome, found.note) == ("resolved", "visited", form["note"])
    assert found.resolved_by == "赵红梅"
    assert listed_ids(text(client.get("/escalations"))) == []
    assert listed_ids(text(client.get("/escalations?tab=resolved"))) == [escalation_id]


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({}, "请选择有效的处理结果"),
        ({"outcome": ""}, "请选择有效的处理结果"),
        ({"outcome": "cured"}, "请选择有效的处理结果"),
        ({"outcome": "visited", "note": "长" * 1001}, "备注最多 1000 个字"),
        ({"outcome": "visited", "note": "bad\x00byte"}, "备注含有无效字符"),
    ],
)
def test_a_bad_resolution_is_refused_and_changes_nothing(app, people, form, message) -> None:
    escalation_id = open_escalation(app, people.resident_a)
    client = signed_in(app, people.staff_a)
    response = post(client, f"/escalations/{escalation_id}/resolve", form)
    assert response.status_code == 400 and message in text(response)
    assert escalation(app, escalation_id).status == "open"


def test_acknowledging_twice_says_someone_already_did(app, people) -> None:
    escalation_id = open_escalation(app, people.resident_a)
    client = signed_in(app, people.staff_a)
    post(client, f"/escalations/{escalation_id}/acknowledge")
    response = post(client, f"/escalations/{escalation_id}/acknowledge")
    assert response.status_code == 409 and "状态已经改变" in text(response)


def test_a_resolved_escalation_cannot_be_resolved_again(app, people) -> None:
    escalation_id = open_escalation(app, people.resident_a)
    client = signed_in(app, people.staff_a)
    post(client, f"/escalations/{escalation_id}/resolve", {"outcome": "visited"})
    response = post(client, f"/escalations/{escalation_id}/resolve", {"outcome": "other"})
    assert response.status_code == 409
    assert escalation(app, escalation_id).outcome == "visited"


def test_the_list_refreshes_itself_from_a_fragment(app, people) -> None:
    client = signed_in(app, people.staff_a)
    page = text(client.get("/escalations"))
    assert 'data-refresh="/escalations/list"' in page and "refresh.js" in page
    assert listed_ids(text(client.get("/escalations/list"))) == []
    escalation_id = open_escalation(app, people.resident_a)
    fragment = text(client.get("/escalations/list", headers={"X-Fragment": "1"}))
    assert listed_ids(fragment) == [escalation_id] and "<html" not in fragment


def test_a_refresh_racing_the_page_never_brings_back_a_confirmation_already_shown(
    app, people
) -> None:
    escalation_id = open_escalation(app, people.resident_a)
    client = signed_in(app, people.staff_a)
    name = app.config["SESSION_COOKIE_NAME"]
    post(client, f"/escalations/{escalation_id}/acknowledge")
    unshown = client.get_cookie(name).value  # still holds "已确认"
    assert "已确认：李建国（高热）" in text(client.get("/escalations"))
    shown = client.get_cookie(name).value
    # A refresh the phone sent before that page's cookie arrived: it must not re-send its own.
    client.set_cookie(name, unshown)
    refresh = client.get("/escalations/list", headers={"X-Fragment": "1"})
    assert refresh.status_code == 200 and "Set-Cookie" not in refresh.headers
    client.set_cookie(name, shown)
    post(client, f"/escalations/{escalation_id}/resolve", {"outcome": "visited"})
    page = text(client.get("/escalations"))
    assert "已解决：李建国（高热）" in page and "已确认：李建国（高热）" not in page


def test_the_detail_page_shows_the_history(app, people) -> None:
    escalation_id = open_escalation(app, people.resident_a)
    client = signed_in(app, people.staff_a)
    form = {"back": "detail"}
    response = post(client, f"/escalations/{escalation_id}/acknowledge", form)
    assert response.headers["Location"] == f"/escalations/{escalation_id}"
    page = text(client.get(f"/escalations/{escalation_id}"))
    assert "开启" in page and "赵红梅 · 确认" in page and "39.2 °C" in page


@pytest.mark.parametrize("page", ["0", "-1", "abc", "１", "99999999999"])
def test_a_bad_page_number_is_refused(app, people, page) -> None:
    response = signed_in(app, people.staff_a).get(f"/escalations?page={page}")
    assert response.status_code in (200, 400)
    if page in ("0", "-1", "abc", "99999999999"):
        assert response.status_code == 400


def test_long_lists_are_paged(app, people) -> None:
    for i in range(55):
        rid = add_resident(app, f"居民{i}", f"+861380371{i:04d}", "中原社区")
        open_escalation(app, rid, "unreachable", "high", None)
    client = signed_in(app, people.staff_a)
    first = text(client.get("/escalations"))
    assert len(listed_ids(first)) == 50 and 'rel="next"' in first
    second = text(client.get("/escalations?page=2"))
    assert len(listed_ids(second)) == 5 and 'rel="prev"' in second
    with session_scope(app) as session:
        assert len(session.scalars(select(Escalation.id)).all()) == 55


def test_a_fever_stays_open_but_shows_how_the_resident_is_now(app, people, clock) -> None:
    def reading(celsius: str) -> None:
        with session_scope(app) as session:
            resident = session.get(Resident, people.resident_a)
            assert resident is not None
            settings, flow = settings_of(app), flow_of(app)
            record_on_behalf(
                session, resident, Decimal(celsius), False, [], "staff", clock.now(), settings, flow
            )

    reading("38.2")
    clock.advance(hours=7, minutes=5)
    reading("36.8")

    (fever,) = session_rows(app)
    assert (fever.reason, fever.status) == ("fever", "open")  # a person decides, not the system
    client = signed_in(app, people.staff_a)
    assert "现 36.8 °C（16:05）" in text(client.get("/escalations"))
    assert "now 36.8 °C at 16:05" in text(client.get("/escalations?lang=en"))
    assert "现 36.8 °C（16:05）" in text(client.get(f"/escalations/{fever.id}?lang=zh_CN"))


def session_rows(app) -> list[Escalation]:
    with session_scope(app) as session:
        return list(session.scalars(select(Escalation)))
