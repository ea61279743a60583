"""Community notices (社区通知) on the dashboard: what the calls read, written and removed here.

Staff write for their own community; a supervisor of every community may write for all.
"""

from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from ivr.db import session_scope
from ivr.domain import notices as lifecycle
from ivr.web.dashboard import bp, forms
from ivr.web.dashboard.auth import actor, login_required, scope
from ivr.web.dashboard.templating import now, render, today
from storage import Community

EVERY = "all"


@bp.get("/notices")
@login_required
def notices() -> str:
    with session_scope() as db:
        limit = scope()
        names = {c.id: c.name for c in db.scalars(select(Community).order_by(Community.name))}
        if limit is not None:
            names = {limit: names.get(limit, "")}
        current = lifecycle.current(db, today(), limit, scoped=limit is not None)
        return render("notices.html", notices=current, names=names, day=today())


@bp.post("/notices")
@login_required
def notice_add() -> Response:
    text = forms.required_text(request.form, "text", _("通知内容"), limit=lifecycle.MAX_TEXT)
    first = forms.date_value(request.form, "from", _("开始日期")) or today()
    last = forms.date_value(request.form, "until", _("结束日期"), required=True)
    assert last is not None
    with session_scope() as db:
        lifecycle.add(db, _community(db), text, first, last, actor(), now())
    flash(_("已添加通知，%(first)s 至 %(last)s 在电话中播报。", first=first, last=last))
    return redirect(url_for("dashboard.notices"))


@bp.post("/notices/<int:notice_id>/remove")
@login_required
def notice_remove(notice_id: int) -> Response:
    with session_scope() as db:
        lifecycle.remove(db, notice_id, actor(), now(), scope())
    flash(_("已删除通知。"))
    return redirect(url_for("dashboard.notices"))


def _community(db: Session) -> int | None:
    """Staff write for their community; a viewer of every community picks one, or all."""
    limit = scope()
    if limit is not None:
        return limit
    raw = request.form.get("community", EVERY)
    if raw == EVERY:
        return None
    found = None
    if raw.isdigit():
        found = db.scalar(select(Community.id).where(Community.id == int(raw)))
    if found is None:
        raise forms.FormError(_("请选择有效的%(field)s。", field=_("社区")))
    return int(found)
