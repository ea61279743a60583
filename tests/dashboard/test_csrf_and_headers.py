"""Every dashboard form needs the session's CSRF token; pages carry the security headers and
stay within a strict Content-Security-Policy (no inline script or style, nothing external)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ivr.web.dashboard import SECURITY_HEADERS
from tests.dashboard.pages import signed_in, text
from tests.ivr.alerting import open_escalation

DASHBOARD = Path(__file__).parents[2] / "ivr" / "web" / "dashboard"


def dashboard_posts(app) -> list[str]:
    return sorted(
        rule.build({name: 1 for name in rule.arguments})[1]
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("dashboard.") and "POST" in (rule.methods or ())
    )


def test_every_dashboard_form_refuses_a_post_without_the_token(app, people) -> None:
    client = signed_in(app, people.admin)
    posts = dashboard_posts(app)
    assert "/escalations/1/resolve" in posts and "/import/commit" in posts and len(posts) > 15
    for url in posts:
        response = client.post(url, data={"note": "x"})
        assert response.status_code == 400, url
        assert "页面已过期或来源无效" in text(response)


@pytest.mark.parametrize("token", ["", "not-a-token", "ImFiYyI.bad.signature"])
def test_a_wrong_token_is_refused_and_changes_nothing(app, people, token) -> None:
    escalation_id = open_escalation(app, people.resident_a)
    client = signed_in(app, people.staff_a)
    response = client.post(f"/escalations/{escalation_id}/acknowledge", data={"csrf_token": token})
    assert response.status_code == 400
    assert "待处理" in text(client.get("/escalations"))


def test_a_token_from_another_session_is_refused(app, people) -> None:
    escalation_id = open_escalation(app, people.resident_a)
    from tests.dashboard.pages import csrf_token

    stolen = csrf_token(signed_in(app, people.staff_a), "/today")
    client = signed_in(app, people.staff_a)
    url = f"/escalations/{escalation_id}/acknowledge"
    assert client.post(url, data={"csrf_token": stolen}).status_code == 400


def test_the_login_form_itself_needs_the_token(app, people) -> None:
    form = {"phone": people.staff_a, "password": "correct-horse-7"}
    assert app.test_client().post("/login", data=form).status_code == 400


def test_twilio_webhooks_and_the_api_are_not_blocked_by_csrf(app) -> None:
    client = app.test_client()
    # Unsigned webhooks are refused by the signature check (403), not by CSRF (400).
    assert client.post("/voice/nosuchcode/gather", data={"Digits": "1"}).status_code == 403
    assert client.post("/sms/incoming", data={"Body": "1234"}).status_code == 403
    assert client.get("/api/v1/escalations").status_code == 401


def test_pages_carry_the_security_headers(app, people) -> None:
    client = signed_in(app, people.staff_a)
    for url in ("/login", "/escalations", "/residents/999", "/dashboard/static/dashboard.css"):
        response = client.get(url)
        for name, value in SECURITY_HEADERS.items():
            assert response.headers[name] == value, (url, name)
    assert "default-src 'self'" in SECURITY_HEADERS["Content-Security-Policy"]
    assert client.get("/escalations").headers["Cache-Control"] == "no-store"


def test_templates_have_no_inline_script_style_or_external_assets() -> None:
    for path in [*DASHBOARD.glob("templates/**/*.html"), *DASHBOARD.glob("static/*")]:
        source = path.read_text(encoding="utf-8")
        assert not re.search(r"<script(?![^>]*\bsrc=)", source), path
        assert " style=" not in source and "<style" not in source, path
        assert not re.search(r"\bon[a-z]+=", source), path  # onclick= and friends
        assert not re.search(r"(src|href)=\"(https?:)?//", source), path


def test_opening_a_form_only_address_in_the_browser_gets_the_dashboards_own_page(
    app, people
) -> None:
    client = signed_in(app, people.admin)
    for url in ("/logout", "/escalations/1/acknowledge", "/import/commit", "/admin/staff/1/remove"):
        response = client.get(url)
        assert response.status_code == 405, url
        page = text(response)
        assert "Method Not Allowed" not in page, url
        assert "请求无效" in page and "返回首页" in page, url
        assert 'class="menu"' in page, url  # the usual layout, with the signed-in menu
    english = client.get("/import/commit?lang=en")
    assert english.status_code == 405
    assert "Method Not Allowed" not in text(english)
    assert "Back to the start page" in text(english)


def test_a_wrong_method_on_the_api_still_answers_json(app) -> None:
    response = app.test_client().delete("/api/v1/escalations")
    assert response.status_code == 405
    assert response.is_json
