"""Today's round progress (everyone) and the statistics page (supervisors)."""

from __future__ import annotations

import datetime as dt

from flask import current_app, request
from flask_babel import gettext as _
from markupsafe import Markup

from ivr import settings_of
from ivr.db import session_scope
from ivr.domain.progress import RoundProgress, round_progress
from ivr.web.dashboard import bp, charts, forms, labels, queries
from ivr.web.dashboard.auth import login_required, scope, supervisor_required, viewer
from ivr.web.dashboard.rollups import stats_rows
from ivr.web.dashboard.statistics import DayStats, daily_totals
from ivr.web.dashboard.templating import render, today

MAX_STATS_DAYS = 92


@bp.get("/today")
@login_required
def today_page() -> str:
    day = forms.date_value(request.args, "date", _("日期")) or today()
    with session_scope() as db:
        rounds = round_progress(db, day)
    mine = viewer().community_name if scope() is not None else None
    shown = [r for r in rounds if mine is None or r.community == mine]
    return render("today.html", rounds=[(r, _bar(r)) for r in shown], day=day)


def _bar(progress: RoundProgress) -> Markup:
    c = progress.counts
    segments = [
        charts.Segment(
            "complete", c["complete"], labels.label(labels.CHECKIN_STATUSES, "complete")
        ),
        charts.Segment("partial", c["partial"], labels.label(labels.CHECKIN_STATUSES, "partial")),
        charts.Segment("missed", c["missed"], labels.label(labels.CHECKIN_STATUSES, "missed")),
        charts.Segment("calling", c["dialing"] + c["in_call"], _("呼叫中")),
        charts.Segment("pending", c["pending"], labels.label(labels.CHECKIN_STATUSES, "pending")),
    ]
    return charts.stacked_bar(segments, f"{progress.community} {progress.slot}")


@bp.get("/stats")
@supervisor_required
def stats() -> str:
    settings = settings_of(current_app)
    day_from, day_to = forms.date_range(request.args, today(), 7, MAX_STATS_DAYS)
    community = forms.integer(request.args, "community", _("社区"), low=1, high=2**31 - 1)
    where = scope() if scope() is not None else community
    with session_scope() as db:
        rows = stats_rows(db, day_from, day_to, settings.tz, settings.fever_c, where)
        communities = queries.communities(db, scope())
    totals = {t.day: t for t in daily_totals(rows)}
    days = [day_from + dt.timedelta(days=n) for n in range((day_to - day_from).days + 1)]
    chart_rows = [(d.strftime("%m-%d"), totals.get(d) or DayStats("", d)) for d in days]
    return render(
        "stats.html",
        rows=rows,
        day_from=day_from,
        day_to=day_to,
        communities=communities,
        community=community,
        answer_chart=charts.columns(
            [(d, t.answer_rate) for d, t in chart_rows], _("每日接听率"), "%", 100.0
        ),
        fever_chart=charts.columns(
            [(d, float(t.fevers)) for d, t in chart_rows], _("每日发热人数")
        ),
        escalation_chart=charts.columns(
            [(d, float(t.escalations_opened)) for d, t in chart_rows], _("每日新增预警")
        ),
    )
