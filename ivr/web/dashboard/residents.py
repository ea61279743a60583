"""Residents: the five-colour board with filters, and one resident's page."""

from __future__ import annotations

from flask import current_app, request
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from ivr import settings_of
from ivr.db import session_scope
from ivr.domain import households, release_calls
from ivr.domain.escalations import OUTCOMES
from ivr.web.dashboard import PAGE_SIZE, board, bp, charts, forms, queries, records
from ivr.web.dashboard.auth import login_required, scope
from ivr.web.dashboard.templating import render, today
from storage import Resident


@bp.get("/residents")
@login_required
def residents() -> str:
    args = request.args
    settings = settings_of(current_app)
    day = today()
    community = forms.integer(args, "community", _("社区"), low=1, high=2**31 - 1)
    building = forms.text(args, "building", _("楼栋"), limit=200)
    wanted = forms.choice(args, "colour", _("状态"), board.COLOURS, required=False)
    search = forms.text(args, "q", _("搜索"), limit=50)
    round_id = forms.integer(args, "round", _("呼叫轮次"), low=1, high=2**31 - 1)
    status = forms.choice(args, "status", _("状态"), board.ROUND_STATUSES, required=False)
    where = scope() or community
    with session_scope() as db:
        query = board.resident_ids(
            scope(),
            day,
            settings.fever_c,
            community=community,
            building=building,
            wanted=wanted,
            search=search,
            checked_in=(round_id, status) if round_id and status else None,
        )
        page = queries.paginate(db, query, forms.page_number(args), PAGE_SIZE)
        rows = board.residents_with_colours(db, [r[0] for r in page.rows], day, settings.fever_c)
        return render(
            "residents.html",
            page=page,
            rows=rows,
            homes=households.household_names(db, [r.phone for r, _c, _s in rows]),
            # One grouped COUNT over the colour CASE: a single pass over the residents in scope,
            # reading only their day summary columns (no check-ins are aggregated), so even
            # the whole district is counted in one pass.
            counts=board.colour_counts(db, where, day, settings.fever_c),
            board=board,
            fever_c=settings.fever_c,
            colours=board.COLOURS,
            communities=queries.communities(db, scope()),
            buildings=board.buildings(db, where) if where else [],
            filters={"community": community, "building": building, "colour": wanted, "q": search},
            day=day,
        )


@bp.get("/residents/<int:resident_id>")
@login_required
def resident(resident_id: int) -> str:
    settings = settings_of(current_app)
    with session_scope() as db:
        found = queries.get_in_scope(db, Resident, resident_id, scope())
        history = records.resident_history(db, found, settings.tz)
        first, last = records.chart_period(found, history, today())
        chart = charts.temperature_chart(
            history.readings,
            first,
            last,
            settings.fever_c,
            settings.high_fever_c,
            _("%(name)s 的体温（%(first)s 至 %(last)s）", name=found.name, first=first, last=last),
        )
        return render(
            "resident.html",
            r=found,
            history=history,
            chart=chart,
            colour=db.scalar(board.colour_of(found.id, today(), settings.fever_c)),
            outcomes=OUTCOMES,
            answer_text=records.answer_text,
            today=today(),
            housemates=_housemates(db, found),
            tell_by_call=release_calls.needs_call(found.phone),
            phone_to_tell=bool(found.released_at) and release_calls.staff_must_phone(db, found.id),
        )


def _housemates(db: Session, found: Resident) -> list[Resident]:
    """The others sharing the resident's phone, in the staff member's scope."""
    mates = [m for m in households.housemates(db, found.phone) if m.id != found.id]
    community_id = scope()
    return [m for m in mates if community_id is None or m.community_id == community_id]
