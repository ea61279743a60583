"""Changing a resident: edit details, hold or release calls, resume, record a check-in.

Each change is written to the audit trail with who made it; the edit records which fields.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, flash, redirect, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select
from werkzeug.wrappers import Response

from ivr import flow_of, settings_of
from ivr.db import session_scope
from ivr.domain import audit, holds, news
from ivr.domain.checkins import record_on_behalf
from ivr.domain.orders import NEEDS
from ivr.domain.residents_import import LANGUAGES, MAX_ISOLATION_DAYS, parse_preferred_times
from ivr.web.dashboard import bp, forms, queries
from ivr.web.dashboard.auth import actor, login_required, scope
from ivr.web.dashboard.templating import now, render, today
from storage import Resident

EDITABLE = (
    "name",
    "phone",
    "address",
    "language",
    "isolation_start",
    "isolation_days",
    "lives_alone",
    "emergency_contact",
    "notify_family",
    "notes",
    "preferred_times",
)


@bp.get("/residents/<int:resident_id>/edit")
@login_required
def resident_edit(resident_id: int) -> str:
    with session_scope() as db:
        found = queries.get_in_scope(db, Resident, resident_id, scope())
        return render("resident_edit.html", r=found, resident_languages=LANGUAGES)


@bp.post("/residents/<int:resident_id>/edit")
@login_required
def resident_edit_post(resident_id: int) -> Response:
    values = _read_edit(request.form)
    with session_scope() as db:
        found = queries.get_in_scope(db, Resident, resident_id, scope())
        clash = db.scalar(
            select(Resident.id).where(
                Resident.phone == values["phone"],
                Resident.name == values.get("name", found.name),
                Resident.id != found.id,
            )
        )
        if clash is not None:
            raise forms.FormError(_("这个电话号码已属于另一位居民。"))
        changed = [name for name in EDITABLE if getattr(found, name) != values[name]]
        for name in changed:
            setattr(found, name, values[name])
        if changed:
            found.updated_at = now()
            detail = f"{', '.join(changed)} (dashboard)"
            audit.record(db, now(), actor(), "edited", "resident", found.id, detail)
        flash(_("已保存：%(name)s", name=found.name) if changed else _("没有修改。"))
    return redirect(url_for("dashboard.resident", resident_id=resident_id))


def _read_edit(form: Any) -> dict[str, Any]:
    region = settings_of(current_app).phone_region
    return {
        "name": forms.required_text(form, "name", _("姓名"), limit=100),
        "phone": forms.phone(form, "phone", _("电话"), region, required=True),
        "address": forms.text(form, "address", _("住址"), limit=200),
        "language": forms.choice(form, "language", _("语言"), LANGUAGES),
        "isolation_start": forms.date_value(form, "isolation_start", _("隔离开始日期")),
        "isolation_days": forms.integer(
            form, "isolation_days", _("隔离天数"), low=1, high=MAX_ISOLATION_DAYS, required=True
        ),
        "lives_alone": forms.checkbox(form, "lives_alone"),
        "emergency_contact": forms.phone(form, "emergency_contact", _("紧急联系人电话"), region),
        "notify_family": forms.checkbox(form, "notify_family"),
        "notes": forms.text(form, "notes", _("备注"), limit=2000),
        "preferred_times": _preferred_times(form),
    }


def _preferred_times(form: Any) -> str | None:
    raw = forms.text(form, "preferred_times", _("自定呼叫时间"), limit=100) or ""
    try:
        return parse_preferred_times(raw)
    except ValueError:
        raise forms.FormError(_("自定呼叫时间请写成 10:30;17:00 这样的格式。")) from None


@bp.post("/residents/<int:resident_id>/hold")
@login_required
def resident_hold(resident_id: int) -> Response:
    until = forms.date_value(request.form, "until", _("暂停至"), required=True)
    reason = forms.required_text(request.form, "reason", _("原因"), limit=200)
    assert until is not None
    if until < today():
        raise forms.FormError(_("暂停日期不能早于今天。"))
    with session_scope() as db:
        found = queries.get_in_scope(db, Resident, resident_id, scope())
        holds.hold(db, found, until, reason, actor(), settings_of(current_app), now())
        flash(_("已暂停呼叫至 %(day)s：%(name)s", day=until, name=found.name))
    return redirect(url_for("dashboard.resident", resident_id=resident_id))


@bp.post("/residents/<int:resident_id>/release")
@login_required
def resident_release(resident_id: int) -> Response:
    reason = forms.required_text(request.form, "reason", _("原因"), limit=200)
    with session_scope() as db:
        found = queries.get_in_scope(db, Resident, resident_id, scope())
        if found.released_at is not None:
            raise forms.FormError(_("该居民已经解除隔离。"), 409)
        text = news.release_text(flow_of(current_app), found) if request.form.get("tell") else None
        told = holds.release(db, found, reason, actor(), settings_of(current_app), now(), tell=text)
        flash(_("已解除隔离：%(name)s", name=found.name))
        if told == holds.CALLED:
            flash(
                _(
                    "%(name)s 使用固定电话，收不到短信：平安将在呼叫时段内打一次电话告知；"
                    "如无人接听，会提醒您打电话告诉本人。",
                    name=found.name,
                )
            )
    return redirect(url_for("dashboard.resident", resident_id=resident_id))


@bp.post("/residents/<int:resident_id>/resume")
@login_required
def resident_resume(resident_id: int) -> Response:
    with session_scope() as db:
        found = queries.get_in_scope(db, Resident, resident_id, scope())
        found.released_at = found.release_reason = None
        found.hold_until = found.hold_reason = None
        found.updated_at = now()
        audit.record(db, now(), actor(), "resumed", "resident", found.id, "dashboard")
        flash(_("已恢复每日呼叫：%(name)s", name=found.name))
    return redirect(url_for("dashboard.resident", resident_id=resident_id))


@bp.post("/residents/<int:resident_id>/checkin")
@login_required
def resident_checkin(resident_id: int) -> Response:
    """Answers given to staff in person or by phone count as if keyed in a call."""
    temperature = forms.temperature(request.form, "temperature", _("体温"))
    symptoms = forms.choice(request.form, "symptoms", _("症状"), ("yes", "no"), required=False)
    needs = request.form.getlist("needs")
    if any(need not in NEEDS for need in needs) or len(needs) > len(NEEDS):
        raise forms.FormError(_("请选择有效的%(field)s。", field=_("需求")))
    note = forms.text(request.form, "note", _("备注"), limit=forms.MAX_NOTE)
    if temperature is None and symptoms is None and not needs:
        raise forms.FormError(_("请至少填写体温、症状或需求中的一项。"))
    with session_scope() as db:
        found = queries.get_in_scope(db, Resident, resident_id, scope())
        record_on_behalf(
            db,
            found,
            temperature,
            None if symptoms is None else symptoms == "yes",
            needs,
            actor(),
            now(),
            settings_of(current_app),
            flow_of(current_app),
            note,
        )
        flash(_("已代为登记：%(name)s", name=found.name))
    return redirect(url_for("dashboard.resident", resident_id=resident_id))
