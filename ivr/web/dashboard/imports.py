"""Import residents from a CSV: upload, see the row-by-row report, then commit it.

The preview is the importer's own plan (``parse_csv`` → ``plan_import``); nothing is written
until the staff member confirms. The confirmation carries the file's text back in the form and
plans again, so the rows written are exactly what the database holds at that moment.
Staff limited to one community may only import rows of that community, and never a phone
number that belongs to a resident of another community.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from flask import current_app, request
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from ivr import settings_of
from ivr.db import session_scope
from ivr.domain import audit
from ivr.domain.residents_import import (
    OPTIONAL_COLUMNS,
    REQUIRED_COLUMNS,
    Action,
    ImportFileError,
    ImportPlan,
    LineError,
    ParsedImport,
    apply_import,
    parse_csv,
    plan_import,
)
from ivr.web.dashboard import bp, forms
from ivr.web.dashboard.auth import actor, login_required, viewer
from ivr.web.dashboard.i18n import current_language
from ivr.web.dashboard.import_messages import column_in_chinese, in_chinese
from ivr.web.dashboard.templating import now, render

MAX_TEXT = 1024 * 1024


@bp.get("/import")
@login_required
def import_form() -> str:
    return _import_page()


def _import_page(error: str | None = None) -> str:
    return render("import.html", required=REQUIRED_COLUMNS, optional=OPTIONAL_COLUMNS, error=error)


@bp.post("/import/preview")
@login_required
def import_preview() -> tuple[str, int] | str:
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise forms.FormError(_("请选择要导入的 CSV 文件。"))
    data = upload.read(MAX_TEXT + 1)
    if len(data) > MAX_TEXT:
        raise forms.FormError(_("文件太大（最多 1 MB）。"), 413)
    with session_scope() as db:
        try:
            parsed, plan = _plan(db, data)
        except forms.FormError as exc:  # the whole file: say so where another can be chosen
            return _import_page(exc.message), 400
        text = _text_of(data)
        return render(
            "import_preview.html", rows=_rows(parsed, plan), report=plan.report(), text=text
        )


@bp.post("/import/commit")
@login_required
def import_commit() -> str:
    text = forms.required_text(request.form, "csv", _("导入内容"), limit=MAX_TEXT)
    with session_scope() as db:
        parsed, plan = _plan(db, text)
        report = apply_import(db, plan, now(), actor=actor())
        detail = f"{report.summary()} (dashboard)"
        audit.record(db, now(), actor(), "imported", "residents_csv", None, detail)
        return render("import_done.html", rows=_rows(parsed, plan), report=report)


def _plan(db: Session, data: bytes | str) -> tuple[ParsedImport, ImportPlan]:
    settings = settings_of(current_app)
    try:
        parsed = parse_csv(data, settings.phone_region, settings.language)
    except ImportFileError as exc:
        raise forms.FormError(
            _("无法读取该文件：%(reason)s", reason=_localised(str(exc)))
        ) from None
    return parsed, _within_scope(plan_import(db, parsed))


def _text_of(data: bytes) -> str:
    """The file as text for the confirmation form (same decoding as the importer)."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return ""


def _within_scope(plan: ImportPlan) -> ImportPlan:
    mine = viewer().community_name if viewer().scope is not None else None
    if mine is None:
        return plan
    kept, refused = [], []
    for planned in plan.rows:
        if planned.row.community != mine:
            refused.append(
                LineError(planned.line, _("只能导入本社区（%(name)s）的居民", name=mine))
            )
        elif planned.action == Action.UPDATE and "community" in planned.changed_fields:
            refused.append(LineError(planned.line, _("该电话号码属于其他社区的居民")))
        else:
            kept.append(planned)
    if not refused:
        return plan
    return dataclasses.replace(
        plan,
        rows=tuple(kept),
        new_communities=(),
        line_errors=tuple(sorted([*plan.line_errors, *refused], key=lambda e: e.line)),
        error_rows=plan.error_rows + len(refused),
    )


def _localised(message: str) -> str:
    """The importer's (English) message in the page's language."""
    return message if current_language() == "en" else in_chinese(message)


def _rows(parsed: ParsedImport, plan: ImportPlan) -> list[dict[str, Any]]:
    """One line per data row of the file, in file order, for the report table."""
    planned = {p.line: p for p in plan.rows}
    errors: dict[int, list[str]] = {}
    for error in plan.line_errors:
        errors.setdefault(error.line, []).append(_localised(error.message))
    chinese = current_language() != "en"
    out = []
    for row in parsed.rows:
        p = planned.get(row.line)
        out.append(
            {
                "line": row.line,
                "name": row.values.get("name", ""),
                # As it will be stored, so staff see how a messy number was read.
                "phone": row.row.phone if row.row else row.values.get("phone", ""),
                "community": row.values.get("community", ""),
                "action": p.action.value if p else "error",
                "changes": ", ".join(
                    column_in_chinese(f) if chinese else f for f in (p.changed_fields if p else ())
                ),
                "errors": errors.get(row.line, []),
            }
        )
    return out
