"""A refused form comes back on its own page, open, with the message and what was typed: staff
never key a resolution note, a cancellation reason or an export range twice."""

from __future__ import annotations

import re

from sqlalchemy import select

from ivr.db import session_scope
from storage import Escalation, ServiceOrder
from tests.dashboard.pages import post, signed_in, staff_row, text
from tests.ivr.alerting import open_escalation

HOST = "http://localhost"
LONG_NOTE = "上门测温 37.0，已好转。" + "长" * 1000  # one character over the limit


def refused_on(client, url: str, page: str, form: dict[str, str]) -> str:
    response = post(client, url, form, headers={"Referer": HOST + page})
    assert response.status_code in (400, 409)
    return text(response)


def open_details_around(page: str, action: str) -> bool:
    """Whether the <details> holding the form that posts to ``action`` is open."""
    found = re.search(
        r"<details[^>]*>(?:(?!</details>).)*?action=\"" + re.escape(action), page, re.S
    )
    assert found, action
    return " open" in found.group(0).split(">")[0]


def test_a_refused_resolution_keeps_its_outcome_and_note_on_the_list_and_the_detail_page(
    app, people
) -> None:
    escalation_id = open_escalation(app, people.resident_a)
    client = signed_in(app, people.staff_a)
    action = f"/escalations/{escalation_id}/resolve"
    page = refused_on(client, action, "/escalations", {"outcome": "visited", "note": LONG_NOTE})
    assert "备注最多 1000 个字" in page and LONG_NOTE in page
    assert re.search(r'<option value="visited" selected>', page)
    assert open_details_around(page, action)
    detail = refused_on(
        client, action, f"/escalations/{escalation_id}", {"outcome": "", "note": "电话回访过"}
    )
    assert "请选择有效的处理结果" in detail and ">电话回访过</textarea>" in detail
    with session_scope(app) as session:
        assert session.get(Escalation, escalation_id).status == "open"


def test_a_refused_cancellation_keeps_its_reason(app, people, round_done) -> None:
    with session_scope(app) as session:
        order_id = session.scalars(select(ServiceOrder.id)).first()
    client = signed_in(app, people.staff_a)
    action = f"/orders/{order_id}/cancel"
    page = refused_on(client, action, "/orders", {"note": LONG_NOTE})
    assert "最多 1000 个字" in page and f'value="{LONG_NOTE}"' in page
    assert open_details_around(page, action)


def test_a_refused_release_keeps_its_reason(app, people) -> None:
    client = signed_in(app, people.staff_a)
    resident_page = f"/residents/{people.resident_a}"
    action = f"{resident_page}/release"
    reason = "隔离期满，已核酸阴性" + "长" * 200
    page = refused_on(client, action, resident_page, {"reason": reason})
    assert "最多 200 个字" in page and f'value="{reason}"' in page
    assert open_details_around(page, action)


def test_a_refused_role_change_keeps_the_choice_and_a_refused_password_reopens_its_form(
    app, people
) -> None:
    client = signed_in(app, people.admin)
    staff_id = staff_row(app, people.supervisor).id
    role_action = f"/admin/staff/{staff_id}/role"
    page = refused_on(client, role_action, "/admin/staff", {"role": "staff", "community": ""})
    assert "社区工作人员必须属于一个社区" in page
    kept_select = page.split(f'id="role-{staff_id}"')[1].split("</select>")[0]
    assert '<option value="staff" selected>' in kept_select
    assert open_details_around(page, role_action)
    password_action = f"/admin/staff/{staff_id}/password"
    page = refused_on(client, password_action, "/admin/staff", {"password": "short7!"})
    assert open_details_around(page, password_action) and "short7!" not in page


def test_a_refused_new_community_keeps_its_name(app, people) -> None:
    client = signed_in(app, people.admin)
    page = refused_on(client, "/admin/communities", "/admin/communities", {"name": "中原社区"})
    assert "已有同名社区" in page and 'id="new-community" name="name" required' in page
    assert re.search(r'id="new-community"[^>]*value="中原社区"', page)


def test_a_refused_export_keeps_the_kind_the_range_and_the_format(app, people) -> None:
    client = signed_in(app, people.supervisor)
    form = {"kind": "escalations", "format": "xlsx", "from": "2026-11-29", "to": "2026-11-20"}
    page = refused_on(client, "/export", "/export", form)
    assert 'value="2026-11-29"' in page and 'value="2026-11-20"' in page
    assert '<option value="escalations" selected>' in page
    assert re.search(r'value="xlsx" checked', page) and not re.search(r'value="csv" checked', page)
