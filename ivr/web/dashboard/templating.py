"""Rendering helpers: local times, durations, phones and labels for the templates."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from flask import Flask, current_app, g, render_template, request
from flask_babel import gettext as _

from ivr import clock_of, settings_of
from ivr.phones import display_phone
from ivr.web.dashboard import i18n, labels


def init_app(app: Flask) -> None:
    app.jinja_env.filters.update(
        local=local_time,
        local_date=local_date,
        since=since,
        phone=phone,
        temp=temperature,
        label=lambda value, table: labels.label(table, value),
        yes_no=labels.yes_no,
        slot=round_slot,
    )
    app.jinja_env.globals.update(query_with=query_with, labels=labels, kept=kept)


def render(template: str, **context: Any) -> str:
    """A dashboard page: ``template`` under ``templates/dashboard/`` with the common context."""
    return render_template(
        f"dashboard/{template}",
        viewer=g.get("viewer"),
        html_lang=i18n.html_lang(),
        languages=i18n.LANGUAGES,
        current_lang=i18n.current_language(),
        current_args=request.args.to_dict(),
        **context,
    )


def render_error(code: int, message: str | None = None) -> tuple[str, int]:
    titles = {
        400: _("请求无效"),
        401: _("请先登录"),
        403: _("没有权限"),
        404: _("找不到该页面"),
        405: _("请求无效"),
        413: _("文件太大"),
        429: _("请求过于频繁"),
    }
    return render(
        "error.html", code=code, title=titles.get(code, _("出错了")), message=message
    ), code


def kept(action: str) -> Any:
    """What was typed into the form posting to ``action`` when it was refused (``errors.py``
    shows its page again); empty otherwise."""
    form = g.get("kept_form")
    return form if form is not None and request.path == action else {}


def query_with(**changes: object) -> str:
    """This page's query string with ``changes`` (None removes an argument)."""
    args = request.args.to_dict()
    for key, value in changes.items():
        if value is None:
            args.pop(key, None)
        else:
            args[key] = str(value)
    return urlencode(args)


def now() -> dt.datetime:
    return clock_of(current_app).now()


def today() -> dt.date:
    return now().astimezone(settings_of(current_app).tz).date()


def local_time(when: dt.datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    if when is None:
        return ""
    return when.astimezone(settings_of(current_app).tz).strftime(fmt)


def local_date(when: dt.datetime | None) -> str:
    return local_time(when, "%Y-%m-%d")


def since(when: dt.datetime | None, until: dt.datetime | None = None) -> str:
    """ "3 小时 5 分" since ``when`` (until now, or ``until``)."""
    if when is None:
        return ""
    minutes = max(0, int(((until or now()) - when).total_seconds() // 60))
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return str(_("%(days)s 天 %(hours)s 小时", days=days, hours=hours))
    if hours:
        return str(_("%(hours)s 小时 %(minutes)s 分", hours=hours, minutes=minutes))
    return str(_("%(minutes)s 分钟", minutes=minutes))


def phone(e164: str | None) -> str:
    return display_phone(e164, settings_of(current_app).phone_region) if e164 else ""


def temperature(value: Decimal | float | None, confirmed: bool = True) -> str:
    """``38.5 °C``, or ``38.5 °C（未确认）`` for a reading never confirmed at the read-back."""
    if value is None:
        return ""
    shown = f"{Decimal(str(value)):.1f} °C"
    return shown if confirmed else shown + str(_("（未确认）"))


def round_slot(slot: str) -> str:
    """A round's slot as staff say it: "09:00", or "manual-093015" → "手动 09:30"."""
    if slot.startswith("manual-") and len(slot) >= 11:
        time = slot[7:9] + ":" + slot[9:11]
        return str(_("手动 %(time)s", time=time))
    return slot
