"""An escalation's life: open → acknowledged → resolved, one at a time per resident and reason,
with every change in the audit trail."""

from __future__ import annotations

from decimal import Decimal

import pytest

from ivr.db import session_scope
from ivr.domain import escalations
from ivr.domain.escalations import LifecycleError
from tests.helpers import add_resident
from tests.ivr.alerting import escalation, open_escalation


@pytest.fixture
def resident(app) -> int:
    return add_resident(app, "张桂兰", "+8613803710103")


def ack(app, escalation_id: int, who: str = "赵红梅", community_id: int | None = None) -> None:
    with session_scope(app) as session:
        now = app.extensions["pingan.clock"].now()
        escalations.acknowledge(session, escalation_id, who, now, community_id)


def resolve(app, escalation_id: int, outcome: str = "visited", note: str = "上门测温 37.0") -> None:
    with session_scope(app) as session:
        now = app.extensions["pingan.clock"].now()
        escalations.resolve(session, escalation_id, "赵红梅", outcome, note, now)


def trail(app, escalation_id: int) -> list[tuple[str, str]]:
    with session_scope(app) as session:
        return [(e.actor, e.action) for e in escalations.history(session, escalation_id)]


def test_an_escalation_is_acknowledged_then_resolved_with_who_when_and_why(
    app, resident, clock
) -> None:
    escalation_id = open_escalation(app, resident)
    opened_at = clock.now()
    clock.advance(minutes=5)
    ack(app, escalation_id)
    clock.advance(minutes=40)
    resolve(app, escalation_id, "hospital", "120 送医")
    found = escalation(app, escalation_id)
    assert found.status == "resolved" and found.opened_at == opened_at
    assert found.acknowledged_by == "赵红梅"
    assert (found.acknowledged_at - opened_at).total_seconds() == 300
    assert found.resolved_by == "赵红梅" and (found.resolved_at - opened_at).total_seconds() == 2700
    assert (found.outcome, found.note) == ("hospital", "120 送医")
    assert trail(app, escalation_id) == [
        ("system", "opened"),
        ("赵红梅", "acknowledged"),
        ("赵红梅", "resolved"),
    ]


def test_a_new_event_joins_the_open_escalation_and_is_kept_in_the_trail(app, resident) -> None:
    first = open_escalation(app, resident, temperature="38.6", detail="38.6 °C")
    ack(app, first)
    second = open_escalation(app, resident, temperature="39.4", detail="39.4 °C")
    assert second == first
    found = escalation(app, first)
    assert found.events == 2 and found.temperature_c == Decimal("39.4")
    assert found.detail == "38.6 °C\n39.4 °C" and found.status == "acknowledged"
    assert [a for _, a in trail(app, first)] == ["opened", "acknowledged", "event_added"]


def test_an_event_after_resolution_opens_a_new_escalation(app, resident) -> None:
    first = open_escalation(app, resident)
    resolve(app, first)
    second = open_escalation(app, resident)
    assert second != first
    assert escalation(app, second).status == "open"
    assert escalation(app, first).status == "resolved"


def test_different_reasons_are_different_escalations(app, resident) -> None:
    fever = open_escalation(app, resident, reason="fever", severity="high")
    symptoms = open_escalation(app, resident, reason="symptoms", severity="high")
    assert fever != symptoms
    assert escalation(app, fever).ack_code != escalation(app, symptoms).ack_code


def test_a_more_serious_event_raises_the_severity(app, resident) -> None:
    escalation_id = open_escalation(app, resident, reason="unreachable", severity="high")
    open_escalation(app, resident, reason="unreachable", severity="urgent")
    assert escalation(app, escalation_id).severity == "urgent"


def test_resolving_without_acknowledging_records_both(app, resident) -> None:
    escalation_id = open_escalation(app, resident)
    resolve(app, escalation_id, "false_alarm", "体温计坏了")
    found = escalation(app, escalation_id)
    assert found.acknowledged_by == "赵红梅" and found.acknowledged_at == found.resolved_at


@pytest.mark.parametrize(
    ("change", "kind", "message"),
    [
        (lambda app, e: resolve(app, e), "conflict", "already resolved by 赵红梅"),
        (lambda app, e: ack(app, e), "conflict", "already resolved"),
        (lambda app, e: resolve(app, e + 100), "not_found", "there is no escalation"),
        (lambda app, e: resolve(app, e, outcome="magic"), "invalid", "outcome must be one of"),
    ],
)
def test_wrong_transitions_are_refused_with_a_clear_error(
    app, resident, change, kind: str, message: str
) -> None:
    escalation_id = open_escalation(app, resident)
    resolve(app, escalation_id)
    with pytest.raises(LifecycleError) as refused:
        change(app, escalation_id)
    assert refused.value.kind == kind and message in str(refused.value)


def test_acknowledging_twice_is_refused(app, resident) -> None:
    escalation_id = open_escalation(app, resident)
    ack(app, escalation_id)
    with pytest.raises(LifecycleError, match="already acknowledged by 赵红梅"):
        ack(app, escalation_id, "钱建军")


def test_staff_cannot_touch_another_communitys_escalation(app, resident) -> None:
    escalation_id = open_escalation(app, resident)
    community_id = escalation(app, escalation_id).community_id
    with pytest.raises(LifecycleError) as refused:
        ack(app, escalation_id, community_id=community_id + 1)
    assert refused.value.kind == "forbidden"
    ack(app, escalation_id, community_id=community_id)
    assert escalation(app, escalation_id).status == "acknowledged"
