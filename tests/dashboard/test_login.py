"""Signing in and out: scrypt passwords, phone numbers as typed, a shared rate limit."""

from __future__ import annotations

import html
import re
import threading
from urllib.parse import urljoin, urlsplit

import pytest
from sqlalchemy import select

from ivr import create_app
from ivr.db import engine, session_scope
from ivr.web.dashboard import throttle
from ivr.web.dashboard.accounts import set_password
from storage import AuditEntry, Staff
from storage.models import LoginCounter
from tests.dashboard.pages import PASSWORD, csrf_token, login, post, signed_in, staff_row, text


def audit_actions(app, action: str) -> list[AuditEntry]:
    with session_scope(app) as session:
        return list(session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def test_staff_log_in_with_their_phone_as_typed_and_land_on_escalations(app, people) -> None:
    client = app.test_client()
    response = login(client, "139-0371-0011")  # dashes, no country code
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert client.get("/").headers["Location"] == "/escalations"
    assert "赵红梅" in text(client.get("/escalations"))
    (entry,) = audit_actions(app, "login")
    assert entry.actor == "赵红梅"


def test_passwords_are_stored_as_scrypt_hashes(app, people, clock) -> None:
    with session_scope(app) as session:
        staff = session.scalars(select(Staff).where(Staff.phone == "+8613903710011")).one()
        set_password(session, staff, "a-new-password", clock.now(), "test")
    stored = staff_row(app, people.staff_a).password_hash
    assert stored is not None and stored.startswith("scrypt:") and "a-new-password" not in stored


@pytest.mark.parametrize(
    ("phone", "password"),
    [("13903710011", "wrong-password"), ("13900000000", PASSWORD), ("", ""), ("abc", "x" * 500)],
)
def test_a_wrong_login_says_so_without_telling_which_part_was_wrong(
    app, people, phone, password
) -> None:
    client = app.test_client()
    response = login(client, phone, password)
    assert response.status_code == 401
    assert "手机号或密码不正确" in text(response)
    assert client.get("/escalations").status_code == 302  # still signed out
    assert len(audit_actions(app, "login_failed")) == 1


def test_a_removed_staff_member_cannot_log_in(app, people) -> None:
    with session_scope(app) as session:
        session.scalars(select(Staff).where(Staff.phone == "+8613903710011")).one().active = False
    assert login(app.test_client(), people.staff_a).status_code == 401


def test_five_wrong_passwords_lock_the_phone_for_every_web_process(app, people) -> None:
    client = app.test_client()
    for _ in range(throttle.PER_PHONE):
        assert login(client, people.staff_a, "guess").status_code == 401
    assert login(client, people.staff_a, PASSWORD).status_code == 429
    # Another web process (a second app on the same database) sees the same failures.
    other = create_app(
        {**_overrides(app), "instance_path": app.instance_path},
        clock=app.extensions["pingan.clock"],
        carrier=app.extensions["pingan.carrier"],
        environ={},
    )
    try:
        response = login(other.test_client(), people.staff_a, PASSWORD)
        assert response.status_code == 429
        assert "登录失败次数过多" in text(response) and "15 分钟" in text(response)
        # Another staff member from the same address is not locked out.
        assert login(other.test_client(), people.staff_b).status_code == 302
    finally:
        engine(other).dispose()


def test_the_lock_lifts_after_fifteen_minutes_and_success_clears_the_count(
    app, people, clock
) -> None:
    client = app.test_client()
    for _ in range(throttle.PER_PHONE):
        login(client, people.staff_a, "guess")
    clock.advance(minutes=15, seconds=1)
    assert login(client, people.staff_a).status_code == 302
    with session_scope(app) as session:
        assert throttle.count(session) == 0


def test_logging_out_needs_the_form_token_and_ends_the_session(app, people) -> None:
    client = signed_in(app, people.staff_a)
    assert client.post("/logout").status_code == 400  # no CSRF token
    assert client.get("/escalations").status_code == 200
    assert post(client, "/logout").status_code == 302
    assert client.get("/escalations").status_code == 302
    assert len(audit_actions(app, "logout")) == 1


def test_a_new_password_signs_out_other_sessions(app, people, clock) -> None:
    client = signed_in(app, people.staff_a)
    with session_scope(app) as session:
        staff = session.scalars(select(Staff).where(Staff.phone == "+8613903710011")).one()
        set_password(session, staff, "another-pass-9", clock.now(), "test")
    assert client.get("/escalations").status_code == 302


def test_login_returns_to_the_page_asked_for_but_never_to_another_site(app, people) -> None:
    client = app.test_client()
    assert (
        client.get("/residents?colour=red").headers["Location"].startswith("/login?next=/residents")
    )
    token = csrf_token(client)
    for target, expected in (("/residents?colour=red", "/residents?colour=red"),
                             ("//evil.example/x", "/"), ("https://evil.example", "/")):  # fmt: skip
        client = app.test_client()
        token = csrf_token(client)
        form = {"phone": people.staff_a, "password": PASSWORD, "next": target, "csrf_token": token}
        assert client.post("/login", data=form).headers["Location"] == expected


def test_the_session_cookie_is_http_only_and_same_site(app, people) -> None:
    response = login(app.test_client(), people.staff_a)
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie


@pytest.mark.parametrize("settings_overrides", [{"public_url": "https://pingan.example.org"}])
def test_behind_https_the_session_cookie_is_secure(app, people) -> None:
    assert app.config["SESSION_COOKIE_SECURE"] is True


def _overrides(app):
    settings = app.extensions["pingan.settings"]
    return {
        "database_url": settings.database_url,
        "twilio_auth_token": settings.twilio_auth_token,
        "carrier": "simulator",
        "public_url": None,
        "secret_key": "test-secret",
    }


@pytest.mark.parametrize("settings_overrides", [{"public_url": "https://pingan.example.org"}])
def test_behind_https_every_page_asks_the_browser_to_stay_on_https(app, people) -> None:
    response = app.test_client().get("/login")
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000"


def client_at(app, address: str):
    client = app.test_client()
    client.environ_base["HTTP_X_FORWARDED_FOR"] = address
    return client


@pytest.mark.parametrize("settings_overrides", [{"trusted_proxies": 1}])
def test_behind_nginx_one_clients_guessing_locks_out_that_client_not_everyone(app, people) -> None:
    guesser = client_at(app, "203.0.113.7")
    for n in range(throttle.PER_ADDRESS):
        login(guesser, f"1390371{n:04d}", "guess")
    assert login(client_at(app, "203.0.113.7"), people.staff_a).status_code == 429
    assert login(client_at(app, "198.51.100.9"), people.staff_a).status_code == 302
    with session_scope(app) as session:
        addresses = set(session.scalars(select(LoginCounter.ip)))
    assert addresses <= {"", "203.0.113.7", "198.51.100.9"}


def test_without_a_trusted_proxy_a_forwarded_address_is_not_believed(app, people) -> None:
    for n in range(throttle.PER_ADDRESS):
        login(client_at(app, f"203.0.113.{n}"), f"1390371{n:04d}", "guess")
    assert login(client_at(app, "198.51.100.9"), people.staff_a).status_code == 429


NASTY_NEXT = [
    "/\t/evil.example",
    "/\n/x",
    "/\r\n/evil.example",
    "/x\r\nSet-Cookie: stolen=1",
    "\t//evil.example",
    " //evil.example",
    "//evil.example",
    "///evil.example",
    "////evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "/\\/evil.example",
    "https://evil.example",
    "HTTPS:evil.example",
    "http:/evil.example",
    "javascript:alert(1)",
    "java\tscript:alert(1)",
    "evil.example",
    "/x\x00y",
    "/\u3000/evil.example",
]


def _lands_on_this_site(location: str) -> bool:
    """Where a browser goes: it drops tab/CR/LF and reads a backslash as a slash."""
    for dropped in "\t\r\n":
        location = location.replace(dropped, "")
    landed = urlsplit(urljoin("http://localhost/login", location.replace("\\", "/")))
    return landed.netloc == "localhost" and landed.scheme == "http"


@pytest.mark.parametrize("target", NASTY_NEXT)
def test_no_next_address_sends_a_signed_in_person_to_another_site(app, people, target) -> None:
    client = app.test_client()
    assert client.get("/login", query_string={"next": target}).status_code == 200
    token = csrf_token(client)
    form = {"phone": people.staff_a, "password": PASSWORD, "next": target, "csrf_token": token}
    response = client.post("/login", data=form)
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location.startswith("/") and _lands_on_this_site(location), location
    assert not any(ord(c) < 0x20 or c in " \\" for c in location), location


def test_the_tab_trick_of_the_attack_report_lands_on_this_site(app, people) -> None:
    client = app.test_client()
    page = text(client.get("/login?next=/%09/evil.example"))
    kept = re.search(r'name="next" value="([^"]*)"', page)
    token = csrf_token(client)
    target = html.unescape(kept.group(1)) if kept else ""
    form = {"phone": people.staff_a, "password": PASSWORD, "next": target, "csrf_token": token}
    location = client.post("/login", data=form).headers["Location"]
    assert _lands_on_this_site(location) and not location.startswith("//"), location


@pytest.fixture
def password_checks(monkeypatch) -> list[str]:
    """Every password check the login page makes (the slow scrypt comparison guessing needs)."""
    from ivr.web.dashboard import auth

    checked: list[str] = []
    lock = threading.Lock()
    real = auth.password_matches

    def counting(staff, password):
        with lock:
            checked.append(password)
        return real(staff, password)

    monkeypatch.setattr(auth, "password_matches", counting)
    return checked


def test_forty_simultaneous_wrong_passwords_get_five_password_checks(
    app, people, password_checks
) -> None:
    guessers = 40
    clients = [app.test_client() for _ in range(guessers)]
    tokens = [csrf_token(client) for client in clients]
    start = threading.Barrier(guessers)
    statuses: list[int] = []

    def guess(n: int) -> None:
        form = {"phone": people.staff_a, "password": f"guess-{n}", "csrf_token": tokens[n]}
        start.wait()
        response = clients[n].post("/login", data=form)
        statuses.append(response.status_code)

    threads = [threading.Thread(target=guess, args=(n,)) for n in range(guessers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(password_checks) == throttle.PER_PHONE
    assert sorted(statuses) == [401] * throttle.PER_PHONE + [429] * (guessers - throttle.PER_PHONE)
    assert login(app.test_client(), people.staff_a).status_code == 429


@pytest.mark.parametrize("settings_overrides", [{"trusted_proxies": 1}])
def test_guessing_one_account_from_many_addresses_is_slowed_down_more_and_more(
    app, people, clock, password_checks
) -> None:
    for n in range(10):  # ten addresses, five guesses each: the attack of the report
        for _ in range(throttle.PER_PHONE):
            login(client_at(app, f"203.0.113.{n}"), people.staff_a, "guess")
    assert len(password_checks) == throttle.ACCOUNT_FREE
    # Even the right password waits: the guesses could have been the owner's typing.
    assert login(client_at(app, "198.51.100.9"), people.staff_a).status_code == 429
    first = throttle.account_delay(throttle.ACCOUNT_FREE)
    clock.advance(seconds=first.total_seconds())
    assert login(client_at(app, "203.0.113.50"), people.staff_a, "guess").status_code == 401
    clock.advance(seconds=first.total_seconds())  # the next wait is longer
    assert login(client_at(app, "203.0.113.51"), people.staff_a, "guess").status_code == 429
    assert throttle.account_delay(throttle.ACCOUNT_FREE + 1) > first
    clock.advance(seconds=throttle.account_delay(throttle.ACCOUNT_FREE + 1).total_seconds())
    assert login(client_at(app, "198.51.100.9"), people.staff_a).status_code == 302
    assert len(password_checks) == throttle.ACCOUNT_FREE + 2


@pytest.mark.parametrize("settings_overrides", [{"trusted_proxies": 1}])
def test_one_address_guessing_does_not_keep_the_owner_out(app, people) -> None:
    for _ in range(3 * throttle.PER_PHONE):
        login(client_at(app, "203.0.113.7"), people.staff_a, "guess")
    assert login(client_at(app, "203.0.113.7"), people.staff_a).status_code == 429
    assert login(client_at(app, "198.51.100.9"), people.staff_a).status_code == 302


def saved_cookie(app, client) -> str:
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    assert cookie is not None
    return cookie.value


def replayed(app, value: str):
    """Another browser holding a copy of a saved session cookie."""
    thief = app.test_client()
    thief.set_cookie(app.config["SESSION_COOKIE_NAME"], value)
    return thief


def test_a_cookie_saved_before_logging_out_no_longer_signs_anyone_in(app, people) -> None:
    client = signed_in(app, people.staff_a)
    saved = saved_cookie(app, client)
    assert replayed(app, saved).get("/escalations").status_code == 200
    assert post(client, "/logout").status_code == 302
    assert replayed(app, saved).get("/escalations").status_code == 302


def test_log_out_everywhere_ends_the_sessions_of_every_device(app, people) -> None:
    phone, desk = signed_in(app, people.staff_a), signed_in(app, people.staff_a)
    saved = saved_cookie(app, desk)
    page = text(phone.get("/account"))
    assert "赵红梅" in page and "在所有设备上退出" in page
    assert post(phone, "/account/logout-everywhere").headers["Location"] == "/login"
    for client in (phone, desk, replayed(app, saved)):
        assert client.get("/escalations").status_code == 302
    assert len(audit_actions(app, "sessions_ended")) == 1
    assert signed_in(app, people.staff_a).get("/escalations").status_code == 200


def test_a_role_change_ends_the_sessions_of_that_person(app, people) -> None:
    client = signed_in(app, people.staff_a)
    saved = saved_cookie(app, client)
    admin = signed_in(app, people.admin)
    staff_id = staff_row(app, people.staff_a).id
    form = {"role": "staff", "community": str(people.community_b)}
    assert post(admin, f"/admin/staff/{staff_id}/role", form).status_code == 302
    assert client.get("/escalations").status_code == 302
    assert replayed(app, saved).get("/escalations").status_code == 302
    assert admin.get("/admin/staff").status_code == 200  # the admin's own session goes on


def test_a_password_set_by_an_admin_ends_a_saved_session(app, people) -> None:
    saved = saved_cookie(app, signed_in(app, people.staff_a))
    admin = signed_in(app, people.admin)
    staff_id = staff_row(app, people.staff_a).id
    form = {"password": "brand-new-pass"}
    assert post(admin, f"/admin/staff/{staff_id}/password", form).status_code == 302
    assert replayed(app, saved).get("/escalations").status_code == 302
