"""Service orders (代买代送): needs keyed in a call become orders staff take and deliver."""

from __future__ import annotations

import datetime as dt

import pytest
from flask import Flask
from sqlalchemy import select

from ivr.db import session_scope
from ivr.domain import orders
from ivr.domain.escalations import LifecycleError
from ivr.domain.rounds import start_manual_round
from storage import AuditEntry, Community, Resident, ServiceOrder
from tests.conftest import SHANGHAI
from tests.helpers import add_resident, run_until_settled, script

PHONE = "+8613803710203"


def call_round(app: Flask, jobs, carrier, clock) -> None:
    settings = app.extensions["pingan.settings"]
    with session_scope(app) as session:
        for community in session.scalars(select(Community)):
            start_manual_round(session, community, settings, clock.now())
    run_until_settled(jobs, carrier, clock)


def order_list(app: Flask) -> list[tuple[str, str, str]]:
    with session_scope(app) as session:
        rows = orders.order_rows(session, SHANGHAI)
    return [(r["name"], r["need"], r["status"]) for r in rows]


def open_for(app: Flask, resident_id: int, *needs: str) -> list[int]:
    now = app.extensions["pingan.clock"].now()
    with session_scope(app) as session:
        resident = session.get(Resident, resident_id)
        return [o.id for o in orders.open_orders(session, resident, list(needs), now, SHANGHAI)]


def test_needs_keyed_in_a_call_become_orders_in_the_community_queue(
    app, jobs, carrier, clock
) -> None:
    add_resident(app, "黄明", PHONE, community="祥和社区")
    script(carrier, PHONE, "answer 1 364# 1 2 1 2 9")
    call_round(app, jobs, carrier, clock)
    assert order_list(app) == [("黄明", "groceries", "open"), ("黄明", "medicine", "open")]
    with session_scope(app) as session:
        rows = orders.order_rows(session, SHANGHAI, community="祥和社区", status="open")
        assert [r["date"] for r in rows] == ["2026-11-28"] * 2
        assert orders.order_rows(session, SHANGHAI, community="中原社区") == []


def test_asking_again_the_same_day_is_not_a_second_order(app, jobs, carrier, clock) -> None:
    add_resident(app, "黄明", PHONE)
    script(carrier, PHONE, "answer 1 364# 1 2 1 9", "answer 1 364# 1 2 1 2 9")
    call_round(app, jobs, carrier, clock)
    clock.advance(hours=7)
    call_round(app, jobs, carrier, clock)
    assert order_list(app) == [("黄明", "groceries", "open"), ("黄明", "medicine", "open")]


def test_the_next_day_the_same_need_is_a_new_order(app, clock) -> None:
    resident_id = add_resident(app, "黄明", PHONE)
    assert len(open_for(app, resident_id, "groceries")) == 1
    assert open_for(app, resident_id, "groceries") == []
    clock.advance(days=1)
    assert len(open_for(app, resident_id, "groceries")) == 1


def test_an_order_is_taken_then_delivered_and_audited(app, clock) -> None:
    (order_id,) = open_for(app, add_resident(app, "黄明", PHONE), "medicine")
    with session_scope(app) as session:
        orders.take(session, order_id, "钱建军", clock.now())
    clock.advance(hours=2)
    with session_scope(app) as session:
        orders.deliver(session, order_id, "钱建军", clock.now(), "降压药两盒")
    with session_scope(app) as session:
        order = session.get(ServiceOrder, order_id)
        assert (order.status, order.taken_by, order.note) == ("delivered", "钱建军", "降压药两盒")
        assert order.delivered_at == clock.now()
        actions = session.scalars(
            select(AuditEntry.action).where(AuditEntry.entity == "service_order")
        ).all()
    assert actions == ["order_opened", "order_taken", "order_delivered"]


def test_a_delivered_order_cannot_be_taken_or_cancelled(app, clock) -> None:
    (order_id,) = open_for(app, add_resident(app, "黄明", PHONE), "garbage")
    with session_scope(app) as session:
        orders.deliver(session, order_id, "钱建军", clock.now())
    for change in (orders.take, orders.cancel):
        with pytest.raises(LifecycleError), session_scope(app) as session:
            change(session, order_id, "钱建军", clock.now())


def test_another_communitys_order_is_refused(app, clock) -> None:
    (order_id,) = open_for(app, add_resident(app, "黄明", PHONE), "garbage")
    with pytest.raises(LifecycleError) as refused, session_scope(app) as session:
        orders.take(session, order_id, "孙丽", clock.now(), community_id=999)
    assert refused.value.kind == "forbidden"


def test_a_cancelled_order_asked_for_again_is_opened_again(app, clock) -> None:
    resident_id = add_resident(app, "黄明", PHONE)
    (order_id,) = open_for(app, resident_id, "supplies")
    with session_scope(app) as session:
        orders.cancel(session, order_id, "钱建军", clock.now(), "家属已送")
    assert open_for(app, resident_id, "supplies") == [order_id]
    assert order_list(app) == [("黄明", "supplies", "open")]


def test_stats_count_orders_opened_and_delivered_per_community_and_day(app, clock) -> None:
    huang = add_resident(app, "黄明", PHONE, community="祥和社区")
    sun = add_resident(app, "孙文", "+8613803710302", community="康桥华城社区")
    first = open_for(app, huang, "groceries", "medicine")
    open_for(app, sun, "garbage")
    clock.advance(days=1)
    with session_scope(app) as session:
        orders.deliver(session, first[0], "钱建军", clock.now())
    with session_scope(app) as session:
        stats = orders.order_stats(session, dt.date(2026, 11, 28), dt.date(2026, 11, 29), SHANGHAI)
    assert stats == [
        {"community": "康桥华城社区", "date": "2026-11-28", "opened": 1, "delivered": 0},
        {"community": "祥和社区", "date": "2026-11-28", "opened": 2, "delivered": 0},
        {"community": "祥和社区", "date": "2026-11-29", "opened": 0, "delivered": 1},
    ]
