"""Administration (admins only): staff accounts, communities with their round times and calling
windows, and a read-only view of the settings the processes run with.

An admin limited to a community administers that community only: its staff and its settings.
Everyone else's accounts answer 404, like missing ones. Adding communities and the deployment's
settings are for admins of all communities. No one changes their own role or community, and no
one grants a role above their own or a wider community than their own."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from flask import abort, current_app, flash, redirect, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from ivr import settings_of
from ivr.config import SETTINGS, Setting, parse_duration, parse_window
from ivr.db import session_scope
from ivr.domain import audit, communities
from ivr.domain.staff import ROLES, StaffError, add_staff, end_sessions, remove_staff
from ivr.web.dashboard import bp, forms, labels
from ivr.web.dashboard.accounts import AccountError, check_new_password, set_password
from ivr.web.dashboard.auth import actor, admin_required, scope, viewer
from ivr.web.dashboard.templating import now, render
from storage import Community, Staff

log = logging.getLogger(__name__)

SECRET_FIELDS = ("twilio_auth_token", "secret_key", "database_url", "twilio_account_sid")


# Who may grant what: a role up to one's own. The property company ranks below staff.
RANK = {"property": 0, "staff": 1, "supervisor": 2, "admin": 3}


def deployment_admin() -> None:
    """Refuse (403) an admin limited to one community."""
    if scope() is not None:
        abort(403)


def _grantable_roles() -> tuple[str, ...]:
    return tuple(r for r in ROLES if RANK[r] <= RANK[viewer().role])


def _may_grant(role: str, community_id: int | None) -> None:
    """Refuse (403) a role above the viewer's own, or a community outside the viewer's."""
    limit = scope()
    if role not in _grantable_roles() or (limit is not None and community_id != limit):
        raise forms.FormError(_("不能授予超出自己权限的角色或社区。"), 403)


def _communities_in_scope(db: Session) -> list[Community]:
    query = select(Community).order_by(Community.name)
    limit = scope()
    return list(db.scalars(query if limit is None else query.where(Community.id == limit)))


@bp.get("/admin/staff")
@admin_required
def admin_staff() -> str:
    limit = scope()
    query = select(Staff, Community.name).outerjoin(Community)
    if limit is not None:
        query = query.where(Staff.community_id == limit)
    with session_scope() as db:
        people = db.execute(query.order_by(Staff.active.desc(), Staff.name)).all()
        return render(
            "admin_staff.html",
            people=people,
            communities=_communities_in_scope(db),
            roles=_grantable_roles(),
            all_communities=limit is None,
        )


def _community(form: Any, db: Session) -> int | None:
    community_id = forms.integer(form, "community", _("社区"), low=1, high=2**31 - 1)
    if community_id is not None and db.get(Community, community_id) is None:
        raise forms.FormError(_("请选择有效的%(field)s。", field=_("社区")))
    return community_id


@bp.post("/admin/staff")
@admin_required
def admin_staff_add() -> Response:
    form = request.form
    region = settings_of(current_app).phone_region
    name = forms.required_text(form, "name", _("姓名"), limit=100)
    phone = forms.phone(form, "phone", _("手机号"), region, required=True)
    role = forms.choice(form, "role", _("角色"), ROLES)
    password = form.get("password", "")
    assert role is not None and phone is not None
    if password:
        _check_password(password)
    with session_scope() as db:
        community_id = _community(form, db)
        if role == "staff" and community_id is None:
            raise forms.FormError(_("社区工作人员必须属于一个社区。"))
        _may_grant(role, community_id)
        taken = select(Staff.id).where(Staff.phone == phone, Staff.active.is_(True))
        if db.scalar(taken) is not None:
            raise forms.FormError(_("这个手机号已经注册。"), 409)
        try:
            staff = add_staff(db, name, phone, community_id, role, now(), actor=actor())
        except StaffError as exc:  # the checks above leave nothing for it to refuse
            raise forms.FormError(str(exc)) from None
        if password:
            set_password(db, staff, password, now(), actor())
        flash(_("已添加：%(name)s", name=staff.name))
    return redirect(url_for("dashboard.admin_staff"))


def _check_password(password: str) -> None:
    try:
        check_new_password(password)
    except AccountError:
        message = _("密码需要 8 到 128 个字符，且首尾不能是空格。")
        raise forms.FormError(message) from None


def _staff(db: Session, staff_id: int) -> Staff:
    """A staff member the viewer administers; anyone else is as missing as an unknown id."""
    found = db.get(Staff, staff_id)
    limit = scope()
    if found is None or (limit is not None and found.community_id != limit):
        log.warning("admin %s asked for staff %s outside their scope", viewer().id, staff_id)
        raise forms.FormError(_("找不到该工作人员。"), 404)
    return found


@bp.post("/admin/staff/<int:staff_id>/role")
@admin_required
def admin_staff_role(staff_id: int) -> Response:
    role = forms.choice(request.form, "role", _("角色"), ROLES)
    with session_scope() as db:
        staff = _staff(db, staff_id)
        community_id = _community(request.form, db)
        if staff.id == viewer().id and (role, community_id) != (staff.role, staff.community_id):
            raise forms.FormError(_("不能修改自己的角色或社区。"), 409)
        if role == "staff" and community_id is None:
            raise forms.FormError(_("社区工作人员必须属于一个社区。"))
        assert role is not None
        _may_grant(role, community_id)
        if (role, community_id) != (staff.role, staff.community_id):
            end_sessions(staff)  # the next login sees the new role; no session keeps the old
        staff.role, staff.community_id = str(role), community_id
        audit.record(
            db, now(), actor(), "staff_changed", "staff", staff.id, f"{role} {community_id}"
        )
        flash(_("已保存：%(name)s", name=staff.name))
    return redirect(url_for("dashboard.admin_staff"))


@bp.post("/admin/staff/<int:staff_id>/password")
@admin_required
def admin_staff_password(staff_id: int) -> Response:
    with session_scope() as db:
        staff = _staff(db, staff_id)
        password = request.form.get("password", "")
        _check_password(password)
        set_password(db, staff, password, now(), actor())
        flash(_("已设置新密码：%(name)s", name=staff.name))
    return redirect(url_for("dashboard.admin_staff"))


@bp.post("/admin/staff/<int:staff_id>/remove")
@admin_required
def admin_staff_remove(staff_id: int) -> Response:
    with session_scope() as db:
        staff = _staff(db, staff_id)
        if staff.id == viewer().id:
            raise forms.FormError(_("不能停用自己的账号。"), 409)
        remove_staff(db, staff, now(), actor())
        flash(_("已停用：%(name)s", name=staff.name))
    return redirect(url_for("dashboard.admin_staff"))


@bp.get("/admin/communities")
@admin_required
def admin_communities() -> str:
    with session_scope() as db:
        return render(
            "admin_communities.html",
            communities=_communities_in_scope(db),
            settings=settings_of(current_app),
            all_communities=scope() is None,
        )


@bp.post("/admin/communities")
@admin_required
def admin_community_add() -> Response:
    deployment_admin()
    name = forms.required_text(request.form, "name", _("社区名称"), limit=100)
    with session_scope() as db:
        if db.scalar(select(Community.id).where(Community.name == name)) is not None:
            raise forms.FormError(_("已有同名社区。"), 409)
        community = Community(name=name, created_at=now())
        db.add(community)
        db.flush()
        audit.record(db, now(), actor(), "created", "community", community.id, name)
        flash(_("已添加社区：%(name)s", name=name))
    return redirect(url_for("dashboard.admin_communities"))


@bp.post("/admin/communities/<int:community_id>")
@admin_required
def admin_community_save(community_id: int) -> Response:
    values = _community_values(request.form)
    with session_scope() as db:
        community = db.get(Community, community_id)
        if community is None or scope() not in (None, community_id):
            raise forms.FormError(_("找不到该社区。"), 404)
        clash = db.scalar(
            select(Community.id).where(
                Community.name == values["name"], Community.id != community_id
            )
        )
        if clash is not None:
            raise forms.FormError(_("已有同名社区。"), 409)
        communities.apply(db, community, values, actor(), now(), "dashboard")
        flash(_("已保存：%(name)s", name=community.name))
    return redirect(url_for("dashboard.admin_communities"))


def _community_values(form: Any) -> dict[str, Any]:
    """The form's fields, by the same rules as ``pingan communities set``."""
    region = settings_of(current_app).phone_region
    field = forms.text
    try:
        start, end = communities.window(
            field(form, "window_start", _("呼叫时段开始"), limit=5),
            field(form, "window_end", _("呼叫时段结束"), limit=5),
        )
        values = {
            "hotline": communities.phone(
                field(form, "hotline", _("社区热线"), limit=40), "hotline", region
            ),
            "duty_phone": communities.phone(
                field(form, "duty_phone", _("值班电话"), limit=40), "duty_phone", region
            ),
            "round_times": communities.round_times(
                field(form, "round_times", _("呼叫轮次时间"), limit=100)
            ),
            "window_start": start,
            "window_end": end,
        }
        if "language" in form:
            values["language"] = communities.language(field(form, "language", _("语言"), limit=10))
    except communities.CommunityError as exc:
        raise forms.FormError(_form_message(exc.field)) from None
    return {"name": forms.required_text(form, "name", _("社区名称"), limit=100), **values}


def _form_message(field: str) -> str:
    messages: dict[str, str] = {
        "hotline": _("%(field)s不是有效的电话号码。", field=_("社区热线")),
        "duty_phone": _("%(field)s不是有效的电话号码。", field=_("值班电话")),
        "round_times": _("呼叫轮次时间格式应为 09:00,16:00。"),
        "window_half": _("呼叫时段需要同时填写开始和结束时间。"),
        "window": _("呼叫时段格式应为 08:00 至 20:00，且结束晚于开始。"),
    }
    return messages.get(field) or _("请选择有效的%(field)s。", field=_("语言"))


@bp.get("/admin/settings")
@admin_required
def admin_settings() -> str:
    deployment_admin()
    settings = settings_of(current_app)
    rows = [
        (
            s.env,
            "••••"
            if s.field in SECRET_FIELDS and getattr(settings, s.field)
            else setting_value(s, getattr(settings, s.field)),
            labels.label(labels.SETTING_DOCS, s.env),
        )
        for s in SETTINGS
    ]
    return render("admin_settings.html", rows=rows)


def setting_value(spec: Setting, value: object) -> object:
    """A setting as an administrator writes it: ``08:00–20:00``, ``09:00、16:00``, ``15 分钟``."""
    if spec.parse is parse_duration and isinstance(value, int):
        return labels.duration(dt.timedelta(seconds=value))
    if isinstance(value, tuple) and all(isinstance(t, dt.time) for t in value):
        times = [t.strftime("%H:%M") for t in value]
        return "–".join(times) if spec.parse is parse_window else labels.listing(times)
    if isinstance(value, bool):
        return labels.yes_no(value)
    return value
