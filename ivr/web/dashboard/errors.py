"""How the dashboard answers errors: a page in the viewer's language with the right status."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from flask import Response, current_app, g, jsonify, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, MethodNotAllowed
from werkzeug.routing import RequestRedirect

from ivr.domain.escalations import LifecycleError
from ivr.web.dashboard import bp, security_headers
from ivr.web.dashboard.auth import load_viewer
from ivr.web.dashboard.forms import FormError
from ivr.web.dashboard.queries import OutOfScope
from ivr.web.dashboard.templating import render_error

LIFECYCLE_CODES = {"not_found": 404, "forbidden": 404, "conflict": 409, "invalid": 400}


@bp.errorhandler(CSRFError)
def csrf_failed(error: CSRFError) -> tuple[str, int]:
    return render_error(400, _("页面已过期或来源无效，请刷新后重试。"))


@bp.errorhandler(FormError)
def form_error(error: FormError) -> Any:
    page = _form_page_again(error)
    return (page, error.code) if page is not None else render_error(error.code, error.message)


def _form_page_again(error: FormError) -> Any:
    """The page the refused form was on, shown again with the message and what was typed, so
    nothing has to be keyed twice; None when that page cannot be told (then the error page)."""
    referrer = urlsplit(request.referrer or "")
    if request.method != "POST" or not referrer.path or referrer.netloc not in ("", request.host):
        return None
    try:
        endpoint, args = current_app.url_map.bind(request.host).match(referrer.path, "GET")
    except HTTPException:
        return None
    view = current_app.view_functions.get(endpoint)
    if view is None or not endpoint.startswith("dashboard.") or endpoint == request.endpoint:
        return None
    g.form_error, g.kept_form = error.message, request.form
    try:
        return view(**args)
    except (FormError, OutOfScope, HTTPException):
        return None


@bp.errorhandler(OutOfScope)
def out_of_scope(error: OutOfScope) -> tuple[str, int]:
    return render_error(404)


@bp.errorhandler(LifecycleError)
def lifecycle(error: LifecycleError) -> tuple[str, int]:
    code = LIFECYCLE_CODES.get(error.kind, 409)
    # "belongs to another community" must look exactly like "does not exist".
    messages = {
        409: _("状态已经改变（可能已被他人处理），请刷新页面查看。"),
        400: _("输入无效，请检查后重试。"),
    }
    return render_error(code, messages.get(code))


@bp.errorhandler(HTTPException)
def http_error(error: HTTPException) -> tuple[str, int]:
    return render_error(error.code or 500)


def wrong_method(error: MethodNotAllowed) -> Response | tuple[Response, int] | HTTPException:
    """A GET on a form-only address, answered by whoever owns the address.

    Routing fails before a blueprint is chosen, so the blueprints' own handlers never see it.
    """
    owner = _owner_of(request.path, error.valid_methods or [])
    if owner == "dashboard":
        # The dashboard's own page, with the signed-in menu and the usual headers.
        load_viewer()
        page, code = render_error(405)
        response = security_headers(current_app.make_response(page))
        response.status_code = code
        response.headers["Allow"] = ", ".join(error.valid_methods or [])
        return response
    if owner == "api":
        return jsonify(error=error.description), 405
    return error


def _owner_of(path: str, methods: Iterable[str]) -> str | None:
    adapter = current_app.url_map.bind_to_environ(request.environ)
    for method in methods:
        try:
            endpoint, _args = adapter.match(path, method=method)
        except (HTTPException, RequestRedirect):
            continue
        return str(endpoint).partition(".")[0]
    return None
