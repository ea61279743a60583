"""Driving the dashboard through Flask's test client: people, logins and form posts.

Plain functions (not fixtures) so the browser tests can build the same people.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.security import generate_password_hash
from werkzeug.test import TestResponse

from ivr.db import session_scope
from ivr.domain.staff import add_staff
from storage import Staff
from tests.helpers import add_community, add_resident

PASSWORD = "correct-horse-7"
# The phones of the residents in the ``round_done`` fixture's round.
FEVER, HEALTHY, SILENT = "+8613803710102", "+8613803710101", "+8613803710201"
A, B = "中原社区", "祥和社区"

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass(frozen=True)
class People:
    community_a: int
    community_b: int
    resident_a: int  # 李建国 in A
    resident_b: int  # 杨志强 in B
    staff_a: str  # phones, which are the logins
    staff_b: str
    supervisor: str
    admin: str


def person(app: Flask, name: str, phone: str, community_id: int | None, role: str) -> int:
    now = app.extensions["pingan.clock"].now()
    with session_scope(app) as session:
        staff = add_staff(session, name, phone, community_id, role, now)
        staff.password_hash = password_hash()
        return staff.id


@functools.cache
def password_hash() -> str:
    """The scrypt hash of ``PASSWORD``, made once per process: scrypt is slow on purpose."""
    return generate_password_hash(PASSWORD, method="scrypt")


def make_people(app: Flask) -> People:
    """Two communities with a resident each, a staff member for each, a supervisor, an admin."""
    a, b = add_community(app, A), add_community(app, B)
    resident_a = add_resident(
        app, "李建国", "+8613803710102", A, address="建设西路12号院1号楼1单元302"
    )
    resident_b = add_resident(app, "杨志强", "+8613803710201", B, address="伏牛路20号院2号楼")
    person(app, "赵红梅", "+8613903710011", a, "staff")
    person(app, "钱建军", "+8613903710012", b, "staff")
    person(app, "周主任", "+8613903710099", None, "supervisor")
    person(app, "管理员", "+8613903710100", None, "admin")
    return People(
        a, b, resident_a, resident_b, "13903710011", "13903710012", "13903710099", "13903710100"
    )


def csrf_token(client: FlaskClient, page: str = "/login") -> str:
    found = _CSRF.search(client.get(page).get_data(as_text=True))
    assert found, f"no CSRF token on {page}"
    return found.group(1)


def login(client: FlaskClient, phone: str, password: str = PASSWORD) -> TestResponse:
    token = csrf_token(client, "/login")
    return client.post("/login", data={"phone": phone, "password": password, "csrf_token": token})


def signed_in(app: Flask, phone: str) -> FlaskClient:
    client = app.test_client()
    response = login(client, phone)
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


def post(
    client: FlaskClient, url: str, data: dict[str, Any] | None = None, **kw: Any
) -> TestResponse:
    """A form post with the CSRF token of the signed-in session."""
    fields = {"csrf_token": csrf_token(client, "/today"), **(data or {})}
    return client.post(url, data=fields, **kw)


def text(response: TestResponse) -> str:
    return response.get_data(as_text=True)


def staff_row(app: Flask, phone: str) -> Staff:
    from sqlalchemy import select

    with session_scope(app) as session:
        found = session.scalars(select(Staff).where(Staff.phone == "+86" + phone)).one()
        session.expunge(found)
        return found
