"""Export check-ins, calls, escalations and orders for a date range as CSV or XLSX
(supervisors and admins). Every export is written to the audit trail."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator
from typing import Any

from flask import Response, current_app, request, stream_with_context
from flask_babel import gettext as _
from openpyxl import Workbook
from openpyxl.utils import get_column_letter

from ivr import flow_of, settings_of
from ivr.db import session_scope
from ivr.domain import audit
from ivr.domain.reports import list_answer_keys
from ivr.web.dashboard import bp, forms, labels
from ivr.web.dashboard.auth import actor, scope, supervisor_required
from ivr.web.dashboard.export_data import KINDS, Window, table
from ivr.web.dashboard.templating import now, render, today

FORMATS = ("csv", "xlsx")
MAX_EXPORT_DAYS = 366
XLSX_MAX_ROWS = 1_048_575  # Excel's limit, less the header
XLSX_WIDTHS = {
    "address": 30,
    "note": 30,
    "detail": 40,
    "detail_text": 40,
    "keys": 30,
    "phone": 16,
    "date": 12,
}
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
    """UTF-8 with a BOM, so that Excel shows the Chinese text rather than mojibake; two header
    lines, like the XLSX."""
    out = io.StringIO()
    writer = csv.writer(out)
    with session_scope() as db:
        header, rows = table(db, kind, window)
        out.write("\ufeff")
        # Words for people, then the codes for programs (and for a reader who knows them).
        writer.writerow([labels.export_column(code) for code in header])
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
    if isinstance(value, dt.datetime):
        return value.isoformat(timespec="seconds")
    if isinstance(value, dt.date):
        return value.isoformat()
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
    """Words in the viewer's language over the codes, both frozen; real dates and numbers."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet(kind)
    with session_scope() as db:
        header, rows = table(db, kind, window)
        sheet.freeze_panes = "A3"
        for index, code in enumerate(header, 1):
            sheet.column_dimensions[get_column_letter(index)].width = _width(code)
        sheet.append([labels.export_column(code) for code in header])
        sheet.append(header)
        for count, row in enumerate(rows, 1):
            if count > XLSX_MAX_ROWS:
                break
            sheet.append([_xlsx_cell(v) for v in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _width(code: str) -> float:
    """Wide enough for a timestamp, an address or a note; the rest for their header."""
    if code.endswith("_at"):
        return 20
    return XLSX_WIDTHS.get(code, max(10, len(code) + 2))


def _xlsx_cell(value: Any) -> Any:
    if isinstance(value, str) and value[:1] == "=":
        return "'" + value  # never a formula
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None, microsecond=0)  # Excel has no time zones: local
    return "" if value is None else value
