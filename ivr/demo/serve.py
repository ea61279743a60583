"""``pingan demo --serve``: after the demo round, keep the dashboard running on its data.

Demo logins are made for every staff member of the sample district plus an administrator,
all with the same known password (printed): this is a demo database in the instance folder,
never a real deployment.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from flask import Flask
from sqlalchemy import select

from ivr import clock_of, settings_of
from ivr.dashboard.accounts import set_password
from ivr.db import session_scope
from ivr.demo.data import STAFF
from ivr.phones import display_phone
from ivr.server import EmbeddedServer
from ivr.staff import add_staff
from storage import Community, Staff

DEMO_PASSWORD = "pingan-demo"
ADMIN = ("管理员", "13903710100")


@dataclass(frozen=True)
class Login:
    name: str
    phone: str
    role: str
    community: str | None


def create_logins(app: Flask) -> list[Login]:
    """Passwords for the sample staff, and an administrator (added only here: the plain demo's
    alerts and summary stay exactly as they are)."""
    settings, now = settings_of(app), clock_of(app).now()
    with session_scope(app) as session:
        if session.scalar(select(Staff.id).where(Staff.role == "admin")) is None:
            add_staff(session, ADMIN[0], ADMIN[1], None, "admin", now, region=settings.phone_region)
        query = select(Staff, Community.name).outerjoin(Community).order_by(Staff.id)
        logins = []
        for staff, community in session.execute(query):
            set_password(session, staff, DEMO_PASSWORD, now, "demo")
            logins.append(Login(staff.name, staff.phone, staff.role, community))
    assert len(logins) == len(STAFF) + 1
    return logins


def login_lines(app: Flask, url: str, logins: list[Login]) -> list[str]:
    region = settings_of(app).phone_region
    lines = [
        "",
        f"Dashboard: {url}/   (Ctrl-C to stop)",
        f"Demo logins (phone number + password {DEMO_PASSWORD}):",
    ]
    for login in logins:
        where = login.community or "all communities"
        lines.append(
            f"  {login.role:<10} {display_phone(login.phone, region):<15} {login.name} ({where})"
        )
    return lines


def serve(app: Flask, host: str, port: int) -> EmbeddedServer:
    return EmbeddedServer(app, host=host, port=port)


def wait_for_interrupt() -> None:
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
