"""``pingan demo --serve``: after the demo round, keep the dashboard running on its data.

Demo logins are made for every staff member of the sample district plus an administrator,
all with the same known password (printed): this is a demo database in the instance folder,
never a real deployment.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from flask import Flask
from flask_babel import gettext as _
from sqlalchemy import select

from ivr import clock_of, settings_of
from ivr.db import session_scope
from ivr.demo.data import STAFF
from ivr.domain.staff import add_staff
from ivr.phones import display_phone
from ivr.tables import format_table
from ivr.web.dashboard.accounts import set_password
from ivr.web.dashboard.i18n import speaking
from ivr.web.dashboard.labels import ROLES, label
from ivr.web.server import EmbeddedServer
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
    """The dashboard's address and the demo logins, in the deployment's language."""
    settings = settings_of(app)
    with speaking(app, settings.language):
        table = format_table(
            [_("角色"), _("电话"), _("姓名"), _("社区")],
            [
                [
                    label(ROLES, login.role),
                    display_phone(login.phone, settings.phone_region),
                    login.name,
                    login.community or _("全部社区"),
                ]
                for login in logins
            ],
        )
        return [
            "",
            _("控制台：%(url)s/   （按 Ctrl-C 停止）", url=url),
            _("演示账号（手机号 + 密码 %(password)s）：", password=DEMO_PASSWORD),
            *("  " + line for line in table.splitlines()),
        ]


def serve(app: Flask, host: str, port: int) -> EmbeddedServer:
    return EmbeddedServer(app, host=host, port=port)


def wait_for_interrupt() -> None:
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
