"""The door-to-door list (上门清单) staff and the property company (物业) carry up the stairs:
grouped by building, most urgent first, addresses, colours and order types only."""

from __future__ import annotations

import io
import re

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from ivr.db import session_scope
from ivr.domain import orders
from storage import Escalation, Resident, ServiceOrder
from tests.conftest import SHANGHAI
from tests.dashboard.pages import A, People, person, post, signed_in, text
from tests.dashboard.test_api import get, token_for
from tests.helpers import add_resident
from tests.ivr.alerting import open_escalation

PROPERTY_PHONE = "13903710077"


@pytest.fixture
def doors(app, people: People) -> dict[str, int]:
    """李建国 (1号楼1单元302) has a high fever; 王秀英 in the same building asked for groceries;
    张桂兰 in 3号楼 has garbage to pick up; 赵大爷, healthy with nothing asked, is not listed."""
    person(app, "物业小王", "+86" + PROPERTY_PHONE, people.community_a, "property")
    open_escalation(app, people.resident_a, detail="39.2 °C ≥ 38.5 °C，咳嗽")
    wang = add_resident(app, "王秀英", "+8613803710111", A, address="建设西路12号院1号楼2单元501")
    zhang = add_resident(app, "张桂兰", "+8613803710112", A, address="建设西路12号院3号楼1单元101")
    add_resident(app, "赵大爷", "+8613803710113", A, address="建设西路12号院3号楼1单元102")
    now = app.extensions["pingan.clock"].now()
    with session_scope(app) as session:
        orders.open_orders(session, session.get(Resident, wang), ["groceries"], now, SHANGHAI)
        garbage = orders.open_orders(
            session, session.get(Resident, zhang), ["garbage"], now, SHANGHAI
        )
        return {"wang": wang, "zhang": zhang, "garbage": garbage[0].id}


def sections(page: str) -> list[tuple[str, list[tuple[str, str]]]]:
    """(building, [(resident id, colour)]) in page order."""
    found = []
    for block in page.split('<section class="building"')[1:]:
        name = re.search(r'data-building="([^"]*)"', block)
        doors = re.findall(r'data-resident="(\d+)" data-colour="(\w+)"', block)
        found.append((name.group(1) if name else "", doors))
    return found


def test_the_list_groups_doors_under_their_building_in_colour_order(app, people, doors) -> None:
    page = text(signed_in(app, people.staff_a).get("/doorlist"))
    assert sections(page) == [
        (
            "建设西路12号院1号楼",
            [(str(people.resident_a), "red"), (str(doors["wang"]), "pending")],
        ),
        ("建设西路12号院3号楼", [(str(doors["zhang"]), "pending")]),
    ]
    for words in ("1单元302", "送：代买生活物资", "需上门", "收垃圾"):
        assert words in page, words
    assert "李建国" in page  # community staff see who lives there


def test_the_property_company_sees_addresses_colours_and_order_types_only(
    app, people, doors
) -> None:
    client = signed_in(app, PROPERTY_PHONE)
    assert client.get("/").headers["Location"].endswith("/doorlist")
    page = text(client.get("/doorlist"))
    assert "1单元302" in page and "红：紧急" in page and "送：代买生活物资" in page
    for secret in ("李建国", "39.2", "咳嗽", "13803710102", "138 0371 0102", "预警"):
        assert secret not in page, secret


def test_a_property_user_cannot_open_health_data(app, people, doors) -> None:
    client = signed_in(app, PROPERTY_PHONE)
    with session_scope(app) as session:
        escalation_id = session.scalars(select(Escalation.id)).one()
    for url in (
        f"/residents/{people.resident_a}",
        "/residents",
        f"/escalations/{escalation_id}",
        "/escalations",
        "/orders",
        "/calls",
        "/today",
        "/export",
        "/stats",
    ):
        assert client.get(url).status_code == 403, url
    exported = post(client, "/export", {"kind": "checkins", "format": "csv"})
    assert exported.status_code == 403
    assert get(app, "/api/v1/escalations", token_for(app, PROPERTY_PHONE)).status_code == 403


def test_the_property_company_marks_garbage_collected_and_nothing_else(app, people, doors):
    client = signed_in(app, PROPERTY_PHONE)
    assert post(client, f"/doorlist/garbage/{doors['garbage']}").status_code == 302
    with session_scope(app) as session:
        assert session.get(ServiceOrder, doors["garbage"]).status == "delivered"
        groceries = session.scalars(
            select(ServiceOrder.id).where(ServiceOrder.need == "groceries")
        ).one()
    assert post(client, f"/doorlist/garbage/{groceries}").status_code == 403
    assert post(client, f"/orders/{groceries}/deliver").status_code == 403
    assert "收垃圾" not in text(client.get("/doorlist"))


def test_the_list_exports_as_xlsx_and_pdf_without_names_for_the_property_company(
    app, people, doors
) -> None:
    client = signed_in(app, PROPERTY_PHONE)
    response = client.get("/doorlist.xlsx")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.data)).active
    rows = [[c or "" for c in row] for row in sheet.iter_rows(min_row=3, values_only=True)]
    assert rows[0][:4] == ["建设西路12号院1号楼", "1单元302", "", "红：紧急"]
    assert not any("李建国" in str(cell) for row in rows for cell in row)
    pdf = client.get("/doorlist.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")


def test_staff_take_an_order_with_a_delivery_time_on_the_orders_page(app, people, doors) -> None:
    client = signed_in(app, people.staff_a)
    with session_scope(app) as session:
        groceries = session.scalars(
            select(ServiceOrder.id).where(ServiceOrder.need == "groceries")
        ).one()
    assert post(client, f"/orders/{groceries}/take", {"eta": "10:30"}).status_code == 302
    assert "预计 2026-11-28 10:30 送达" in text(client.get("/orders"))
    refused = post(client, f"/orders/{doors['garbage']}/take", {"eta": "soon"})
    assert refused.status_code == 400
