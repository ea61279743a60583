"""Escalations, the staff's home page: acknowledge and resolve, each in one tap."""

from __future__ import annotations

from flask import current_app, flash, redirect, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from ivr import settings_of
from ivr.db import session_scope
from ivr.domain.alerts import SEVERITY_ORDER, failing
from ivr.domain.escalations import OUTCOMES, acknowledge, history, resolve
from ivr.domain.staff import uncovered
from ivr.web.dashboard import PAGE_SIZE, bp, escalation_words, forms, labels, queries
from ivr.web.dashboard.auth import actor, login_required, scope
from ivr.web.dashboard.templating import now, render
from storage import Escalation


def _list(template: str, **banners: object) -> str:
    resolved = request.args.get("tab") == "resolved"
    with session_scope() as db:
        page = queries.paginate(
            db, queries.escalations(scope(), resolved), forms.page_number(request.args), PAGE_SIZE
        )
        shown = [row[0] for row in page.rows]
        readings = queries.later_readings(db, shown)
        together = queries.told_together(db, shown) if not resolved else {}
        card_severity = {
            e.id: max(
                [e, *together.get(e.id, [])], key=lambda x: SEVERITY_ORDER.get(x.severity, 0)
            ).severity
            for e in shown
        }
    return render(
        template,
        page=page,
        readings=readings,
        together=together,
        card_severity=card_severity,
        resolved=resolved,
        outcomes=OUTCOMES,
        **banners,
    )


@bp.get("/escalations")
@login_required
def escalations() -> str:
    return _list(
        "escalations.html",
        no_one_on_duty=_no_one_on_duty(),
        alerts_failing=_alerts_failing(),
        failing_after_min=settings_of(current_app).alerts_failing_after_s // 60,
    )


def _alerts_failing() -> int:
    """How many alerts of the viewer's communities are undelivered for a while (retrying)."""
    after_s = settings_of(current_app).alerts_failing_after_s
    with session_scope() as db:
        return sum(failing(db, now(), after_s, scope()).values())


def _no_one_on_duty() -> list[str]:
    """The viewer's communities whose alerts reach no staff member right now."""
    tz = settings_of(current_app).tz
    with session_scope() as db:
        return uncovered(db, now(), tz, scope())


@bp.get("/escalations/list")
@login_required
def escalations_fragment() -> str:
    """Just the list, for ``refresh.js`` to swap in every few seconds."""
    return _list("_escalation_list.html")


@bp.get("/escalations/<int:escalation_id>")
@login_required
def escalation(escalation_id: int) -> str:
    with session_scope() as db:
        found = queries.get_in_scope(db, Escalation, escalation_id, scope())
        trail = history(db, found.id)
        tz = settings_of(current_app).tz
        return render(
            "escalation.html",
            e=found,
            resident=found.resident,
            said=escalation_words.lines(found, tz),
            trail=trail,
            trail_words=escalation_words.trail(found, trail, tz),
            readings=queries.later_readings(db, [found]),
            outcomes=OUTCOMES,
        )


@bp.post("/escalations/<int:escalation_id>/acknowledge")
@login_required
def escalation_acknowledge(escalation_id: int) -> Response:
    with session_scope() as db:
        done = acknowledge(db, escalation_id, actor(), now(), scope(), via="dashboard")
        flash(_("已确认：%(name)s（%(reason)s）", name=done.resident.name, reason=_reason(done)))
    return _back(escalation_id)


@bp.post("/escalations/<int:escalation_id>/resolve")
@login_required
def escalation_resolve(escalation_id: int) -> Response:
    outcome = forms.choice(request.form, "outcome", _("处理结果"), OUTCOMES)
    note = forms.text(request.form, "note", _("备注"), limit=forms.MAX_NOTE) or ""
    assert outcome is not None
    with session_scope() as db:
        done = resolve(db, escalation_id, actor(), outcome, note, now(), scope())
        flash(_("已解决：%(name)s（%(reason)s）", name=done.resident.name, reason=_reason(done)))
    return _back(escalation_id)


def _reason(escalation: Escalation) -> str:
    return labels.label(labels.REASONS, escalation.reason)


def _back(escalation_id: int) -> Response:
    if request.form.get("back") == "detail":
        return redirect(url_for("dashboard.escalation", escalation_id=escalation_id))
    return redirect(url_for("dashboard.escalations"))
