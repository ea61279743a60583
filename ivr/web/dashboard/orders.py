"""Service orders (代买代送): the community's open orders; take (接单) and mark delivered."""

from __future__ import annotations

from flask import current_app, flash, redirect, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from ivr import settings_of
from ivr.db import session_scope
from ivr.domain import households
from ivr.domain import orders as lifecycle
from ivr.domain.escalations import LifecycleError
from ivr.web.dashboard import PAGE_SIZE, bp, forms, labels, queries
from ivr.web.dashboard.auth import actor, login_required, scope
from ivr.web.dashboard.templating import now, render
from storage import ServiceOrder


@bp.get("/orders")
@login_required
def orders() -> str:
    done = request.args.get("tab") == "done"
    with session_scope() as db:
        page = queries.paginate(
            db, queries.orders(scope(), done), forms.page_number(request.args), PAGE_SIZE
        )
        homes = households.household_names(db, [r.phone for _, r, _ in page.rows])
    return render("orders.html", page=page, done=done, homes=homes)


@bp.post("/orders/<int:order_id>/take")
@login_required
def order_take(order_id: int) -> Response:
    raw = forms.text(request.form, "eta", _("预计送达"), limit=20)
    try:
        eta = lifecycle.parse_eta(raw, now(), settings_of(current_app).tz) if raw else None
    except LifecycleError:
        raise forms.FormError(_("预计送达时间请写成 10:00。")) from None
    with session_scope() as db:
        order = lifecycle.take(db, order_id, actor(), now(), scope(), eta=eta)
        flash(_("已接单：%(name)s，%(need)s", name=order.resident.name, need=_need(order)))
    return redirect(url_for("dashboard.orders"))


@bp.post("/orders/<int:order_id>/deliver")
@login_required
def order_deliver(order_id: int) -> Response:
    note = forms.text(request.form, "note", _("备注"), limit=forms.MAX_NOTE)
    with session_scope() as db:
        order = lifecycle.deliver(db, order_id, actor(), now(), note, scope())
        flash(_("已送达：%(name)s，%(need)s", name=order.resident.name, need=_need(order)))
    return redirect(url_for("dashboard.orders"))


@bp.post("/orders/<int:order_id>/cancel")
@login_required
def order_cancel(order_id: int) -> Response:
    note = forms.required_text(request.form, "note", _("取消原因"), limit=forms.MAX_NOTE)
    with session_scope() as db:
        order = lifecycle.cancel(db, order_id, actor(), now(), note, scope())
        flash(_("已取消：%(name)s，%(need)s", name=order.resident.name, need=_need(order)))
    return redirect(url_for("dashboard.orders"))


def _need(order: ServiceOrder) -> str:
    return labels.label(labels.NEEDS, order.need)
