"""Who may see what: staff their own community, supervisors all plus calls and exports, admins
also the administration pages. Another community's rows answer 404, exactly like missing ones."""

from __future__ import annotations

import pytest

from ivr.db import session_scope
from storage import Escalation, Resident, ServiceOrder
from tests.dashboard.pages import csrf_token, post, signed_in, text
from tests.ivr.alerting import open_escalation


def an_order(app, resident_id: int) -> int:
    from ivr.domain.orders import open_orders

    now = app.extensions["pingan.clock"].now()
    with session_scope(app) as session:
        resident = session.get(Resident, resident_id)
        tz = app.extensions["pingan.settings"].tz
        return open_orders(session, resident, ["groceries"], now, tz)[0].id


@pytest.fixture
def rows_of_b(app, people):
    """An escalation and an order of community B's resident."""
    return open_escalation(app, people.resident_b), an_order(app, people.resident_b)


def test_staff_asking_for_another_communitys_pages_by_url_get_404(app, people, rows_of_b) -> None:
    escalation_b, _ = rows_of_b
    client = signed_in(app, people.staff_a)
    for url in (
        f"/residents/{people.resident_b}",
        f"/residents/{people.resident_b}/edit",
        f"/escalations/{escalation_b}",
        "/residents/999999",
        "/escalations/999999",
    ):
        response = client.get(url)
        assert response.status_code == 404, url
        assert "杨志强" not in text(response)


def test_staff_cannot_change_another_communitys_rows(app, people, rows_of_b) -> None:
    escalation_b, order_b = rows_of_b
    client = signed_in(app, people.staff_a)
    attempts = {
        f"/escalations/{escalation_b}/acknowledge": {},
        f"/escalations/{escalation_b}/resolve": {"outcome": "visited", "note": "x"},
        f"/orders/{order_b}/take": {},
        f"/orders/{order_b}/deliver": {},
        f"/orders/{order_b}/cancel": {"note": "x"},
        f"/residents/{people.resident_b}/edit": {"name": "x", "phone": "13800000000"},
        f"/residents/{people.resident_b}/hold": {"until": "2026-12-30", "reason": "x"},
        f"/residents/{people.resident_b}/release": {"reason": "x"},
        f"/residents/{people.resident_b}/resume": {},
        f"/residents/{people.resident_b}/checkin": {"temperature": "36.5"},
    }
    for url, data in attempts.items():
        assert post(client, url, data).status_code == 404, url
    with session_scope(app) as session:
        assert session.get(Escalation, escalation_b).status == "open"
        assert session.get(ServiceOrder, order_b).status == "open"
        resident = session.get(Resident, people.resident_b)
        assert resident.name == "杨志强" and resident.hold_until is None
        assert resident.released_at is None


def test_lists_show_only_the_staff_members_community(app, people, rows_of_b) -> None:
    open_escalation(app, people.resident_a, "fever", "high", "37.8")
    an_order(app, people.resident_a)
    client = signed_in(app, people.staff_a)
    for url in ("/escalations", "/escalations/list", "/orders", "/residents"):
        page = text(client.get(url))
        assert "李建国" in page and "杨志强" not in page, url
    supervisor = signed_in(app, people.supervisor)
    for url in ("/escalations", "/orders", "/residents"):
        page = text(supervisor.get(url))
        assert "李建国" in page and "杨志强" in page, url


@pytest.mark.parametrize("url", ["/calls", "/stats", "/export", "/admin/staff"])
def test_community_staff_are_refused_supervisor_pages(app, people, url) -> None:
    assert signed_in(app, people.staff_a).get(url).status_code == 403


def test_community_staff_cannot_export_by_posting_the_form(app, people) -> None:
    client = signed_in(app, people.staff_a)
    form = {"kind": "checkins", "format": "csv", "from": "2026-11-28", "to": "2026-11-28"}
    assert post(client, "/export", form).status_code == 403


@pytest.mark.parametrize("url", ["/admin/staff", "/admin/communities", "/admin/settings"])
def test_supervisors_are_refused_administration(app, people, url) -> None:
    assert signed_in(app, people.supervisor).get(url).status_code == 403
    assert signed_in(app, people.admin).get(url).status_code == 200


@pytest.mark.parametrize("url", ["/calls", "/stats", "/export"])
def test_supervisors_see_calls_statistics_and_exports(app, people, url) -> None:
    assert signed_in(app, people.supervisor).get(url).status_code == 200


def test_a_supervisor_with_a_community_is_limited_to_it(app, people, rows_of_b) -> None:
    from tests.dashboard.pages import person

    person(app, "区督导", "+8613903710098", people.community_a, "supervisor")
    client = signed_in(app, "13903710098")
    assert client.get(f"/residents/{people.resident_b}").status_code == 404
    assert "杨志强" not in text(client.get("/residents"))


def test_signed_out_visitors_are_sent_to_the_login_page(app, people) -> None:
    client = app.test_client()
    for url in ("/escalations", "/residents", "/calls", "/admin/staff"):
        response = client.get(url)
        assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert client.get("/escalations/list", headers={"X-Fragment": "1"}).status_code == 401


def test_every_dashboard_page_needs_a_login(app) -> None:
    open_pages = {"dashboard.login", "dashboard.login_post", "dashboard.logout", "dashboard.static"}
    guarded = [
        rule for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("dashboard.") and rule.endpoint not in open_pages
    ]  # fmt: skip
    assert len(guarded) > 30
    client = app.test_client()
    token = csrf_token(client)  # a signed-out session's valid token: CSRF is not what stops it
    for rule in guarded:
        url = rule.build({name: 1 for name in rule.arguments})[1]
        if "GET" in (rule.methods or ()):
            response = client.get(url)
            assert response.status_code == 302 and "/login" in response.headers["Location"], url
        else:
            assert client.post(url, data={"csrf_token": token}).status_code == 401, url
