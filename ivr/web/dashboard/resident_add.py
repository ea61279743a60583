"""Adding one resident from the dashboard, without a CSV (the same rules as an import)."""

from __future__ import annotations

from flask import current_app, flash, redirect, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from ivr import settings_of
from ivr.db import session_scope
from ivr.domain.residents_add import AddError, add_resident
from ivr.domain.residents_import import LANGUAGES
from ivr.web.dashboard import bp, forms, queries
from ivr.web.dashboard.auth import actor, login_required, scope
from ivr.web.dashboard.resident_edit import EDITABLE
from ivr.web.dashboard.templating import now, render
from storage import Community

# The edit form's text fields; the two ticks are read apart.
FIELDS = tuple(name for name in EDITABLE if name not in ("lives_alone", "notify_family"))


@bp.get("/residents/new")
@login_required
def resident_new() -> str:
    with session_scope() as db:
        return _form(queries.communities(db, scope()), {}, [])


@bp.post("/residents/new")
@login_required
def resident_new_post() -> Response | tuple[str, int]:
    form = request.form
    settings = settings_of(current_app)
    with session_scope() as db:
        communities = queries.communities(db, scope())
        community_id = forms.integer(form, "community", _("社区"), low=1, high=2**31 - 1)
        chosen = next((c for c in communities if c.id == community_id), None)
        fields = {name: (form.get(name) or "").strip() for name in FIELDS}
        fields = {name: value for name, value in fields.items() if value}
        fields["lives_alone"] = "yes" if form.get("lives_alone") else "no"
        fields["notify_family"] = "yes" if form.get("notify_family") else "no"
        if chosen is None:
            return _form(communities, form, [_("请选择社区。")]), 400
        fields["community"] = chosen.name
        try:
            resident = add_resident(
                db,
                fields,
                now(),
                region=settings.phone_region,
                default_language=settings.language,
                actor=actor(),
            )
        except AddError as exc:
            return _form(communities, form, exc.reasons), 400
        flash(_("已添加居民：%(name)s", name=resident.name))
        resident_id = resident.id
    return redirect(url_for("dashboard.resident", resident_id=resident_id))


def _form(communities: list[Community], values: object, errors: list[str]) -> str:
    """The form keeps what was typed when something is refused."""
    return render(
        "resident_new.html",
        communities=communities,
        values=values,
        errors=errors,
        resident_languages=LANGUAGES,
    )
