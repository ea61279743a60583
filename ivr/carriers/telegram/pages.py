"""The resident page's Telegram panel: a one-time link code for the resident or their family
(for the whole household too, when others share the phone), and one button to unlink every
chat. Routes on the dashboard's blueprint, so they have its login, community scoping and CSRF
protection."""

from __future__ import annotations

from typing import Any

from flask import current_app, flash, redirect, request, url_for
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import object_session
from werkzeug.wrappers import Response

from ivr.carriers.telegram.bot import enabled
from ivr.carriers.telegram.linking import covering, new_code, unlink_resident
from ivr.db import session_scope
from ivr.domain.households import household_names, housemates
from ivr.web.dashboard import bp, forms, queries
from ivr.web.dashboard.auth import actor, login_required, scope
from ivr.web.dashboard.templating import now
from storage import Resident


@bp.app_context_processor
def _telegram_panel() -> dict[str, Any]:
    def telegram_links(resident: Resident) -> int | None:
        """How many chats reach the resident (theirs, their family's, their household's);
        None when Telegram is off. (In the page's own session: a second one would wait for
        the first's lock on SQLite.)"""
        db = object_session(resident)
        if not enabled(current_app) or db is None:
            return None
        query = select(func.count()).where(covering(resident))
        return int(db.scalar(query) or 0)

    def telegram_household(resident: Resident) -> str:
        """The names of everyone sharing the resident's phone, when others do ("" if not)."""
        db = object_session(resident)
        return household_names(db, [resident.phone]).get(resident.phone, "") if db else ""

    return {"telegram_links": telegram_links, "telegram_household": telegram_household}


@bp.post("/residents/<int:resident_id>/telegram-code")
@login_required
def resident_telegram_code(resident_id: int) -> Response:
    role = forms.choice(request.form, "role", _("给谁"), ("resident", "contact"), required=True)
    household = forms.checkbox(request.form, "household")
    if not enabled(current_app):
        raise forms.FormError(_("没有设置 Telegram 机器人。"), 409)
    with session_scope() as db:
        found = queries.get_in_scope(db, Resident, resident_id, scope())
        if household and len(housemates(db, found.phone)) < 2:
            raise forms.FormError(_("没有别人和这位居民用同一个电话。"), 400)
        role = role or "resident"
        code = new_code(db, actor(), now(), resident=found, role=role, household=household).code
        flash(
            _(
                "绑定码 %(code)s：48 小时内给机器人发送 /start %(code)s，只能用一次。",
                code=code,
            )
        )
    return redirect(url_for("dashboard.resident", resident_id=resident_id))


@bp.post("/residents/<int:resident_id>/telegram-unlink")
@login_required
def resident_telegram_unlink(resident_id: int) -> Response:
    with session_scope() as db:
        found = queries.get_in_scope(db, Resident, resident_id, scope())
        count = unlink_resident(db, found, actor(), now())
        flash(
            _(
                "已解除 %(name)s 的 Telegram 绑定（%(count)s 个聊天）。",
                name=found.name,
                count=count,
            )
        )
    return redirect(url_for("dashboard.resident", resident_id=resident_id))
