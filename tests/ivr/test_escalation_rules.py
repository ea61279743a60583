"""Every escalation rule, end to end: a resident answers (or not) a real simulated call, and the
escalation list shows what staff must act on, with the severity ``ivr.domain.escalations``
documents."""

from __future__ import annotations

from decimal import Decimal

import pytest
from flask import Flask

from callflows import load_flow
from ivr.db import session_scope
from ivr.domain.escalations import REASONS
from ivr.domain.reports import escalation_rows
from ivr.notifiers.base import reason_words
from tests.helpers import add_resident, call_round, script
from tests.ivr.alerting import staff_member, texts_to

PHONE = "+8613803710101"


def escalations(app: Flask) -> dict[str, str]:
    with session_scope(app) as session:
        rows = escalation_rows(session, app.extensions["pingan.settings"].tz)
    return {str(r["reason"]): str(r["severity"]) for r in rows}


def escalations_after_a_call(app: Flask, jobs, carrier, clock, behaviour: str) -> dict[str, str]:
    add_resident(app, "李建国", PHONE)
    script(carrier, PHONE, behaviour)
    call_round(app, jobs, carrier, clock)
    return escalations(app)


@pytest.mark.parametrize(
    ("behaviour", "expected"),
    [
        ("answer 1 378# 1 2 9", {"fever": "high"}),
        ("answer 1 392# 1 2 9", {"high_fever": "urgent"}),
        ("answer 1 348# 1 2 9", {"low_temperature": "high"}),
        ("answer 1 366# 1 1 9", {"symptoms": "high"}),
        ("answer 1 366# 1 2 0", {"callback_requested": "high"}),
        ("no-answer", {"unreachable": "high"}),
        ("answer - -", {"no_response": "high"}),
        ("reject:21211", {"bad_phone": "high"}),
        ("answer 1 365# 1 2 9", {}),
    ],
)
def test_each_rule_opens_its_escalation(
    app, jobs, carrier, clock, behaviour: str, expected: dict[str, str]
) -> None:
    assert escalations_after_a_call(app, jobs, carrier, clock, behaviour) == expected
    assert all(REASONS[reason] == severity for reason, severity in expected.items())


def test_an_unreachable_resident_who_lives_alone_is_urgent(app, jobs, carrier, clock) -> None:
    add_resident(app, "马秀兰", PHONE, lives_alone=True)
    script(carrier, PHONE, "no-answer")
    call_round(app, jobs, carrier, clock)
    assert escalations(app) == {"unreachable": "urgent"}


def test_a_rising_temperature_is_escalated_before_it_is_a_fever(app, jobs, carrier, clock) -> None:
    add_resident(app, "何志明", PHONE)
    script(carrier, PHONE, "answer 1 366# 1 2 9", "answer 1 372# 1 2 9")
    call_round(app, jobs, carrier, clock)
    assert escalations(app) == {}
    clock.advance(hours=7)
    call_round(app, jobs, carrier, clock)
    assert escalations(app) == {"rising_temperature": "high"}
    with session_scope(app) as session:
        (row,) = escalation_rows(session, app.extensions["pingan.settings"].tz)
    assert row["detail"] == "37.2 °C, up 0.6 °C from 36.6 °C" and row["temperature_c"] == 37.2


def test_a_rise_below_37_is_not_escalated(app, jobs, carrier, clock) -> None:
    add_resident(app, "何志明", PHONE)
    script(carrier, PHONE, "answer 1 361# 1 2 9", "answer 1 369# 1 2 9")
    call_round(app, jobs, carrier, clock)
    clock.advance(hours=7)
    call_round(app, jobs, carrier, clock)
    assert escalations(app) == {}


def test_staff_on_duty_get_the_sms_from_the_same_worker_tick(app, jobs, carrier, clock) -> None:
    staff_member(app, "赵红梅", "+8613903710011")
    add_resident(app, "张桂兰", PHONE, address="桐柏路88号院6号楼3单元101")
    script(carrier, PHONE, "answer 1 392# 1 1 9")
    call_round(app, jobs, carrier, clock)
    jobs.tick()
    (sms,) = texts_to(carrier, "+8613903710011")  # one text for the reading's two reasons
    assert "紧急：中原社区 张桂兰，高热、有症状，体温 39.2℃" in sms


def test_every_reason_the_rules_can_raise_is_documented_with_its_severity() -> None:
    flow = load_flow(None)
    for rule in flow.escalations:
        assert REASONS[rule.reason] == rule.severity
    for reason in REASONS:
        assert reason_words(reason) != reason  # each has words for the messages


@pytest.mark.parametrize(
    ("settings_overrides", "behaviour", "expected"),
    [
        ({"fever_c": Decimal("37.5")}, "answer 1 374# 1 2 9", {}),
        ({"fever_c": Decimal("37.5")}, "answer 1 375# 1 2 9", {"fever": "high"}),
        ({"high_fever_c": Decimal("39.0")}, "answer 1 388# 1 2 9", {"fever": "high"}),
        (
            {"low_temperature_c": Decimal("35.5")},
            "answer 1 352# 1 2 9",
            {"low_temperature": "high"},
        ),
    ],
)
def test_the_thresholds_are_the_deployments_settings(
    app, jobs, carrier, clock, behaviour: str, expected: dict[str, str]
) -> None:
    assert escalations_after_a_call(app, jobs, carrier, clock, behaviour) == expected
