"""Export check-ins, calls, escalations and orders for a date range as CSV or XLSX
(supervisors and admins). Every export is written to the audit trail."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

from flask import Response, current_app, request, stream_with_context
from flask_babel import gettext as _
from openpyxl import Workbook

from ivr import audit, flow_of, settings_of
from ivr.dashboard import bp, forms
from ivr.dashboard.auth import actor, scope, supervisor_required
from ivr.dashboard.export_data import KINDS, Window, table
from ivr.dashboard.templating import now, render, today
from ivr.db import session_scope
from ivr.reports import list_answer_keys

FORMATS = ("csv", "xlsx")
MAX_EXPORT_DAYS = 366
XLSX_MAX_ROWS = 1_048_575  # Excel's limit, less the header
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@bp.get("/export")
@supervisor_required
def export_form() -> str:
    return render("export.html", kinds=KINDS, formats=FORMATS, day=today())


@bp.post("/export")
@supervisor_required
def export() -> Response:
    kind = forms.choice(request.form, "kind", _("数据类型"), KINDS)
    fmt = forms.choice(request.form, "format", _("文件格式"), FORMATS)
    day_from, day_to = forms.date_range(request.form, today(), 1, MAX_EXPORT_DAYS)
    assert kind is not None and fmt is not None
    list_keys = list_answer_keys(flow_of(current_app))
    window = Window(day_from, day_to, settings_of(current_app).tz, scope(), list_keys)
    name = f"pingan-{kind}-{day_from}-{day_to}.{fmt}"
    with session_scope() as db:
        detail = f"{kind} {day_from}..{day_to} {fmt}"
        audit.record(db, now(), actor(), "exported", "export", None, detail)
    disposition = {"Content-Disposition": f'attachment; filename="{name}"'}
    if fmt == "csv":
        body = stream_with_context(_csv(kind, window))
        return Response(body, mimetype="text/csv; charset=utf-8", headers=disposition)
    return Response(_xlsx(kind, window), mimetype=XLSX_TYPE, headers=disposition)


def _csv(kind: str, window: Window) -> Iterator[str]:
    """UTF-8 with a BOM, so that Excel shows the Chinese text rather than mojibake."""
    out = io.StringIO()
    writer = csv.writer(out)
    with session_scope() as db:
        header, rows = table(db, kind, window)
        out.write("\ufeff")
        writer.writerow(header)
        for count, row in enumerate(rows, 1):
            writer.writerow([_csv_cell(v) for v in row])
            if count % 500 == 0:
                yield out.getvalue()
                out.seek(0)
                out.truncate()
    yield out.getvalue()


def _csv_cell(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    text = "" if value is None else value
    # A cell starting with = + - @ is run as a formula by spreadsheets (CSV injection).
    if isinstance(text, str) and text[:1] in ("=", "+", "-", "@") and not _is_number(text):
        return "'" + text
    return text


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _xlsx(kind: str, window: Window) -> bytes:
    book = Workbook(write_only=True)
    sheet = book.create_sheet(kind)
    with session_scope() as db:
        header, rows = table(db, kind, window)
        sheet.append(header)
        for count, row in enumerate(rows, 1):
            if count > XLSX_MAX_ROWS:
                break
            sheet.append([_xlsx_cell(v) for v in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _xlsx_cell(value: Any) -> Any:
    if isinstance(value, str) and value[:1] == "=":
        return "'" + value  # never a formula
    return "" if value is None else value
