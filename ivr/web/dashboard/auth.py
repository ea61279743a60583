"""Who is signed in, what they may see, and the login and logout pages.

Staff see and act on their own community only; a supervisor or admin without a community sees
every community (one with a community is limited to it, as ``ivr.domain.staff.may_act_for`` says).
``scope()`` is the community filter every query of the dashboard applies.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar, cast
from urllib.parse import quote, urlsplit, urlunsplit

from flask import abort, current_app, flash, g, redirect, request, session, url_for
from flask_babel import gettext as _
from sqlalchemy import select
from werkzeug.wrappers import Response

from ivr import clock_of, settings_of
from ivr.db import session_scope
from ivr.domain import audit
from ivr.domain.staff import PROPERTY, SUPERVISING, end_sessions
from ivr.phones import PhoneError, mask_phone, normalize_phone
from ivr.web.dashboard import bp, queries, throttle
from ivr.web.dashboard.accounts import password_matches
from ivr.web.dashboard.templating import render
from storage import Community, Escalation, Resident, ServiceOrder, Staff

log = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])

MAX_NEXT = 500
# Characters a path or query keeps as they are (RFC 3986 pchar and sub-delims, "%" of an
# escape already made); everything else, controls and spaces included, is percent-encoded.
PATH_SAFE = "/%:@!$&'()*+,;=-._~"
QUERY_SAFE = PATH_SAFE + "?"


@dataclass(frozen=True)
class Viewer:
    """The signed-in staff member, as plain values (no ORM object outlives its session)."""

    id: int
    name: str
    role: str
    community_id: int | None
    community_name: str | None

    @property
    def supervising(self) -> bool:
        return self.role in SUPERVISING

    @property
    def scope(self) -> int | None:
        """The community this person is limited to; None for all communities."""
        if self.supervising and self.community_id is None:
            return None
        return self.community_id


def viewer_of(staff: Staff, community: Community | None) -> Viewer:
    name = community.name if community is not None else None
    return Viewer(staff.id, staff.name, staff.role, staff.community_id, name)


@bp.before_request
def load_viewer() -> None:
    g.viewer = None
    staff_id = session.get("staff_id")
    if staff_id is None or request.endpoint == "dashboard.static":
        return
    with session_scope() as db:
        found = db.execute(
            select(Staff, Community).outerjoin(Community).where(Staff.id == staff_id)
        ).first()
        if found is None:
            session.clear()
            return
        staff, community = found
        if not staff.active or session.get("generation") != staff.session_generation:
            session.clear()  # removed, or signed out everywhere since this session began
            return
        g.viewer = viewer_of(staff, community)


# All the property company (物业) may open: the door-to-door list, its files, the garbage
# pickups, and signing in and out. Everything else is refused before any view runs.
PROPERTY_ENDPOINTS = frozenset(
    {
        "dashboard.doorlist",
        "dashboard.doorlist_export",
        "dashboard.doorlist_garbage",
        "dashboard.home",
        "dashboard.login",
        "dashboard.login_post",
        "dashboard.logout",
        "dashboard.account",
        "dashboard.logout_everywhere",
        "dashboard.static",
    }
)


@bp.before_request
def _property_limits() -> None:
    found: Viewer | None = g.get("viewer")
    if found is not None and found.role == PROPERTY and request.endpoint not in PROPERTY_ENDPOINTS:
        log.warning("property account %s refused %s", found.id, request.path[:200])
        abort(403)


@bp.before_request
def _check_scope() -> None:
    """Every URL naming a resident, escalation, order or call is checked against the viewer's
    community before the view reads its form, so another community's id is a 404 whatever
    else the request holds (and never a "bad input" that would confirm the row exists)."""
    found: Viewer | None = g.get("viewer")
    args = request.view_args or {}
    if found is None or not args:
        return
    with session_scope() as db:
        if "resident_id" in args:
            queries.get_in_scope(db, Resident, args["resident_id"], found.scope)
        if "escalation_id" in args:
            queries.get_in_scope(db, Escalation, args["escalation_id"], found.scope)
        if "order_id" in args:
            queries.get_in_scope(db, ServiceOrder, args["order_id"], found.scope)
        if "attempt_id" in args:
            queries.call_in_scope(db, args["attempt_id"], found.scope)


def viewer() -> Viewer:
    found: Viewer | None = g.get("viewer")
    if found is None:
        abort(401)
    return found


def scope() -> int | None:
    return viewer().scope


def actor() -> str:
    """The name staff see in "acknowledged by" and the audit trail."""
    return viewer().name


def login_required(view: F) -> F:
    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if g.get("viewer") is None:
            if request.method == "GET" and not request.headers.get("X-Fragment"):
                return redirect(url_for("dashboard.login", next=request.full_path.rstrip("?")))
            abort(401)
        return view(*args, **kwargs)

    return cast(F, wrapped)


def roles_required(*roles: str) -> Callable[[F], F]:
    def decorate(view: F) -> F:
        @functools.wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if viewer().role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return login_required(cast(F, wrapped))

    return decorate


supervisor_required = roles_required("supervisor", "admin")
admin_required = roles_required("admin")


@bp.get("/login")
def login() -> str | Response:
    if g.get("viewer") is not None:
        return redirect(url_for("dashboard.home"))
    return render("login.html", phone="", next=_safe_next(request.args.get("next")))


@bp.post("/login")
def login_post() -> tuple[str, int] | Response:
    raw_phone = request.form.get("phone", "")[:64]
    password = request.form.get("password", "")
    target = _safe_next(request.form.get("next"))
    region = settings_of(current_app).phone_region
    try:
        phone = normalize_phone(raw_phone, region)
    except PhoneError:
        phone = raw_phone.strip()[:32]
    ip = request.remote_addr or "-"
    now = clock_of(current_app).now()
    with session_scope() as db:  # committed before the password check: see throttle
        wait = throttle.reserve(db, phone, ip, now)
    if wait is not None:
        log.warning("dashboard login for %s from %s refused: throttled", mask_phone(phone), ip)
        minutes = max(1, int(wait.total_seconds() + 59) // 60)
        message = _("登录失败次数过多，请 %(minutes)s 分钟后再试。", minutes=minutes)
        return render("login.html", error=message, phone=raw_phone, next=target), 429
    with session_scope() as db:
        staff = db.scalars(
            select(Staff).where(Staff.phone == phone, Staff.active.is_(True))
        ).first()
        if not password or not password_matches(staff, password):
            audit.record(
                db, now, mask_phone(phone), "login_failed", "staff", staff.id if staff else None, ip
            )
            throttle.prune(db, now)
            log.warning("dashboard login failed for %s from %s", mask_phone(phone), ip)
            message = _("手机号或密码不正确。")
            return render("login.html", error=message, phone=raw_phone, next=target), 401
        assert staff is not None  # password_matches is False without a staff member
        throttle.succeeded(db, phone, ip)
        audit.record(db, now, staff.name, "login", "staff", staff.id, ip)
        language = session.get("lang")
        session.clear()  # a fresh session: nothing from before the login carries over
        session.update(staff_id=staff.id, generation=staff.session_generation)
        if language:
            session["lang"] = language
        session.permanent = True
    return redirect(target or url_for("dashboard.home"))


@bp.post("/logout")
def logout() -> Response:
    """Ends the session on the server too: a copy of the cookie saved before (a shared
    computer, a stolen backup) no longer signs anyone in. The count of sessions is one per
    person, so this signs the person out on their other devices as well."""
    _end_sessions("logout")
    flash(_("已退出登录。"))
    return redirect(url_for("dashboard.login"))


@bp.get("/account")
@login_required
def account() -> str:
    return render("account.html")


@bp.post("/account/logout-everywhere")
@login_required
def logout_everywhere() -> Response:
    _end_sessions("sessions_ended")
    flash(_("已在所有设备上退出登录。"))
    return redirect(url_for("dashboard.login"))


def _end_sessions(action: str) -> None:
    found: Viewer | None = g.get("viewer")
    if found is not None:
        with session_scope() as db:
            staff = db.get(Staff, found.id)
            if staff is not None:
                end_sessions(staff)
            now = clock_of(current_app).now()
            audit.record(db, now, found.name, action, "staff", found.id)
    language = session.get("lang")
    session.clear()
    if language:
        session["lang"] = language


@bp.get("/")
@login_required
def home() -> Response:
    if viewer().role == PROPERTY:
        return redirect(url_for("dashboard.doorlist"))
    return redirect(url_for("dashboard.escalations"))


def _safe_next(target: str | None) -> str | None:
    """Only a path on this site. The target is parsed as a browser parses it (tab, CR and LF
    dropped, a backslash read as a slash) and rebuilt from its path and query alone, quoted, so
    neither another host nor a header break can come out of it."""
    if not target or len(target) > MAX_NEXT:
        return None
    parts = urlsplit(target.replace("\\", "/"))
    if parts.scheme or parts.netloc or not parts.path.startswith("/"):
        return None
    if parts.path.startswith("//"):  # "///host": an empty authority a browser would skip
        return None
    return urlunsplit(
        ("", "", quote(parts.path, safe=PATH_SAFE), quote(parts.query, safe=QUERY_SAFE), "")
    )
