"""The door-to-door list page (上门清单), its XLSX and PDF, and the garbage pickups done from it.

Every viewer of a community sees it; the property company (物业) sees nothing else (``auth``)
and its list carries no names.
"""

from __future__ import annotations

import datetime as dt
import io
import logging

from flask import abort, current_app, flash, redirect, request, url_for
from flask_babel import gettext as _
from openpyxl import Workbook
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from ivr import settings_of
from ivr.db import session_scope
from ivr.domain import audit, orders
from ivr.domain.staff import PROPERTY
from ivr.web.dashboard import bp, forms, labels, queries
from ivr.web.dashboard.auth import actor, login_required, scope, viewer
from ivr.web.dashboard.door_data import GARBAGE, Building, door_list
from ivr.web.dashboard.door_pdf import FontMissing
from ivr.web.dashboard.door_pdf import render as render_pdf
from ivr.web.dashboard.templating import now, render, today
from storage import Community, ServiceOrder

log = logging.getLogger(__name__)

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@bp.get("/doorlist")
@login_required
def doorlist() -> str:
    with session_scope() as db:
        community, day, buildings = _list(db)
        choices = _communities(db)
        return render(
            "doorlist.html",
            community=community,
            communities=choices,
            day=day,
            buildings=buildings,
        )


@bp.get("/doorlist.<fmt>")
@login_required
def doorlist_export(fmt: str) -> Response:
    if fmt not in ("xlsx", "pdf"):
        abort(404)
    with session_scope() as db:
        community, day, buildings = _list(db)
        audit.record(db, now(), actor(), "exported", "export", None, f"doorlist {day} {fmt}")
        name = community.name
    title = _("%(community)s 上门清单 %(day)s", community=name, day=day)
    disposition = {"Content-Disposition": f'attachment; filename="pingan-doorlist-{day}.{fmt}"'}
    if fmt == "xlsx":
        return Response(_xlsx(title, buildings), mimetype=XLSX_TYPE, headers=disposition)
    font = settings_of(current_app).pdf_font
    try:
        body = render_pdf(title, buildings, _word, font)
    except FontMissing:
        log.error("door list PDF: no CJK font at %s (PINGAN_PDF_FONT)", font)
        abort(503)
    return Response(body, mimetype="application/pdf", headers=disposition)


@bp.post("/doorlist/garbage/<int:order_id>")
@login_required
def doorlist_garbage(order_id: int) -> Response:
    """The garbage at this door was picked up (the property company's one action)."""
    with session_scope() as db:
        order = queries.get_in_scope(db, ServiceOrder, order_id, scope())
        if order.need != GARBAGE:
            abort(403 if viewer().role == PROPERTY else 400)
        orders.deliver(db, order_id, actor(), now(), None, scope())
        flash(_("垃圾已收走：%(address)s", address=order.resident.address or ""))
    community, day = request.args.get("community"), request.args.get("day")
    return redirect(url_for("dashboard.doorlist", community=community, day=day))


def _list(db: Session) -> tuple[Community, dt.date, list[Building]]:
    day = forms.date_value(request.args, "day", _("日期")) or today()
    community = _community(db)
    names = viewer().role != PROPERTY
    settings = settings_of(current_app)
    return community, day, door_list(db, community.id, day, settings.fever_c, names=names)


def _community(db: Session) -> Community:
    """The viewer's own community, or the one a viewer of every community picked."""
    limit = scope()
    raw = request.args.get("community", "")
    wanted = limit if limit is not None else (int(raw) if raw.isdigit() else None)
    query = select(Community).order_by(Community.name)
    if wanted is not None:
        query = query.where(Community.id == wanted)
    found = db.scalars(query).first()
    if found is None:
        abort(404)
    return found


def _communities(db: Session) -> list[Community]:
    if scope() is not None:
        return []
    return list(db.scalars(select(Community).order_by(Community.name)))


def _word(code: str) -> str:
    headings: dict[str, str] = {
        "visit": _("需上门"),
        "garbage": _("收垃圾"),
        "no_building": _("未注明楼栋"),
    }
    if code in headings:
        return headings[code]
    if code in labels.COLOURS:
        return labels.label(labels.COLOURS, code)
    return labels.label(labels.NEEDS, code)


def _xlsx(title: str, buildings: list[Building]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "doorlist"
    sheet.append([title])
    sheet.append([_("楼栋"), _("门牌"), _("姓名"), _("状态"), _("需上门"), _("送货"), _("收垃圾")])
    for building in buildings:
        for door in building.doors:
            sheet.append(
                [
                    building.name or _word("no_building"),
                    door.door or door.address,
                    door.name or "",
                    _word(door.colour),
                    "✓" if door.visit else "",
                    "、".join(_word(n) for n in door.deliveries),
                    "✓" if door.garbage_order else "",
                ]
            )
    for column, width in zip("ABCDEFG", (26, 14, 10, 18, 8, 20, 8), strict=True):
        sheet.column_dimensions[column].width = width
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
