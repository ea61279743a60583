"""Orders (代买代送): the community's open orders, taken (接单) and delivered from the list."""

from __future__ import annotations

import re

import pytest

from ivr.db import session_scope
from storage import ServiceOrder
from tests.dashboard.pages import post, signed_in, text
from tests.dashboard.test_permissions import an_order


def order(app, order_id: int) -> ServiceOrder:
    with session_scope(app) as session:
        found = session.get(ServiceOrder, order_id)
        assert found is not None
        session.expunge(found)
        return found


def test_staff_take_and_deliver_an_order(app, people, clock) -> None:
    order_id = an_order(app, people.resident_a)
    client = signed_in(app, people.staff_a)
    page = text(client.get("/orders"))
    assert f'data-order="{order_id}"' in page and "代买生活物资" in page and "待接单" in page
    assert post(client, f"/orders/{order_id}/take").status_code == 302
    assert order(app, order_id).taken_by == "赵红梅"
    assert "赵红梅 已接单" in text(client.get("/orders"))
    clock.advance(minutes=40)
    assert post(client, f"/orders/{order_id}/deliver", {"note": "放在门口"}).status_code == 302
    done = order(app, order_id)
    assert (done.status, done.delivered_by, done.note) == ("delivered", "赵红梅", "放在门口")
    assert done.delivered_at == clock.now()
    assert f'data-order="{order_id}"' not in text(client.get("/orders"))
    assert f'data-order="{order_id}"' in text(client.get("/orders?tab=done"))


def test_taking_an_order_twice_is_a_conflict(app, people) -> None:
    order_id = an_order(app, people.resident_a)
    client = signed_in(app, people.staff_a)
    post(client, f"/orders/{order_id}/take")
    assert post(client, f"/orders/{order_id}/take").status_code == 409


def test_cancelling_needs_a_reason(app, people) -> None:
    order_id = an_order(app, people.resident_a)
    client = signed_in(app, people.staff_a)
    response = post(client, f"/orders/{order_id}/cancel", {"note": "  "})
    assert response.status_code == 400 and "请填写取消原因" in text(response)
    assert post(client, f"/orders/{order_id}/cancel", {"note": "家属已送"}).status_code == 302
    assert order(app, order_id).status == "cancelled"


@pytest.mark.parametrize(
    ("url", "form"),
    [
        ("deliver", {"note": "x" * 1001}),
        ("cancel", {"note": "x" * 1001}),
        ("deliver", {"note": "\x07"}),
    ],
)
def test_bad_notes_are_refused(app, people, url, form) -> None:
    order_id = an_order(app, people.resident_a)
    response = post(signed_in(app, people.staff_a), f"/orders/{order_id}/{url}", form)
    assert response.status_code == 400
    assert order(app, order_id).status == "open"


def test_an_unknown_order_is_not_found(app, people) -> None:
    client = signed_in(app, people.staff_a)
    assert post(client, "/orders/424242/take").status_code == 404
    assert client.post("/orders/not-a-number/take").status_code == 404


def test_orders_list_oldest_open_first(app, people, clock) -> None:
    first = an_order(app, people.resident_a)
    clock.advance(minutes=5)
    from tests.helpers import add_resident

    other = add_resident(app, "王秀英", "+8613803710101", "中原社区")
    second = an_order(app, other)
    client = signed_in(app, people.staff_a)
    post(client, f"/orders/{first}/take")
    ids = [int(i) for i in re.findall(r'data-order="(\d+)"', text(client.get("/orders")))]
    assert ids == [second, first]  # not yet taken before taken
