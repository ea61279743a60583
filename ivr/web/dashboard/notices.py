"""Community notices (社区通知) on the dashboard: what the calls read, written and removed here.

Staff write for their own community; a supervisor of every community may write for all.
"""

from __future__ import annotations

from flask import current_app, flash, redirect, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from ivr import settings_of
from ivr.db import session_scope
from ivr.domain import notice_recordings
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
    recording = _recording()
    with session_scope() as db:
        notice = lifecycle.add(db, _community(db), text, first, last, actor(), now())
        if recording:
            notice_recordings.attach(settings_of(current_app), notice, recording)
    flash(_("已添加通知，%(first)s 至 %(last)s 在电话中播报。", first=first, last=last))
    return redirect(url_for("dashboard.notices"))


def _recording() -> bytes | None:
    """The uploaded recording, checked before anything is stored (a refusal keeps the form)."""
    upload = request.files.get("recording")
    if upload is None or not upload.filename:
        return None
    data: bytes = upload.read(notice_recordings.MAX_BYTES + 1)
    refused = notice_recordings.refusal(data)
    if refused == "too_big":
        raise forms.FormError(_("录音文件不能超过 5 MB。"))
    if refused:
        raise forms.FormError(_("录音须为 MP3 或 WAV 音频文件。"))
    return data


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
