"""The call log (supervisors): every attempt, filtered by date, community and status; one call's
timeline from the carrier's events with its CallSid."""

from __future__ import annotations

import datetime as dt

from flask import current_app, request
from flask_babel import gettext as _

from ivr import settings_of
from ivr.db import session_scope
from ivr.web.dashboard import PAGE_SIZE, bp, forms, queries, records
from ivr.web.dashboard.auth import scope, supervisor_required
from ivr.web.dashboard.templating import render, today


def day_bounds(day: dt.date, tz: dt.tzinfo) -> tuple[dt.datetime, dt.datetime]:
    """The UTC instants a local day starts and ends (a DST day may be 23 or 25 hours)."""
    start = dt.datetime.combine(day, dt.time(), tz)
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tz)
    return start.astimezone(dt.UTC), end.astimezone(dt.UTC)


@bp.get("/calls")
@supervisor_required
def calls() -> str:
    args = request.args
    day = forms.date_value(args, "date", _("日期")) or today()
    community = forms.integer(args, "community", _("社区"), low=1, high=2**31 - 1)
    status = forms.choice(args, "status", _("状态"), queries.CALL_STATUSES, required=False)
    start, end = day_bounds(day, settings_of(current_app).tz)
    query = queries.calls(scope(), start, end, community, status)
    with session_scope() as db:
        page = queries.paginate(db, query, forms.page_number(args), PAGE_SIZE)
        return render(
            "calls.html",
            page=page,
            day=day,
            communities=queries.communities(db, scope()),
            statuses=queries.CALL_STATUSES,
            filters={"community": community, "status": status},
        )


@bp.get("/calls/<int:attempt_id>")
@supervisor_required
def call(attempt_id: int) -> str:
    with session_scope() as db:
        attempt = queries.call_in_scope(db, attempt_id, scope())
        return render(
            "call.html",
            a=attempt,
            resident=attempt.resident,
            answers=records.call_answers(db, attempt),
            answer_text=records.answer_text,
        )
