"""The staff and supervisor dashboard: server-rendered pages (Flask + Jinja), no SPA.

``bp`` holds every page; ``api.bp`` the token-authenticated JSON API. ``init_app`` wires what
the pages need on the app: sessions, CSRF, translations, security headers and template helpers.
CSRF is checked for the dashboard only (``bp.before_request``): the Twilio webhooks are signed
instead and the JSON API authenticates every request with a bearer token, so neither uses it.
"""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, Flask, Response, current_app, request
from flask.sessions import SecureCookieSessionInterface, SessionMixin
from flask_wtf.csrf import CSRFProtect

from ivr.config import Settings

bp = Blueprint(
    "dashboard",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/dashboard/static",
)

SESSION_HOURS = 12  # one working day; staff sign in again the next morning
PAGE_SIZE = 50

SECURITY_HEADERS = {
    # Everything is served from this origin: no CDN, no inline script or style.
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; "
        "object-src 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


class FragmentSessionInterface(SecureCookieSessionInterface):
    """A list refresh (``X-Fragment``) sends back no session cookie unless it changed the
    session. Its cookie was read before the page it belongs to arrived, so re-sending it
    would bring back a confirmation the page already showed ("已确认" beside "已解决")."""

    def should_set_cookie(self, app: Flask, session: SessionMixin) -> bool:
        if request.headers.get("X-Fragment") and not session.modified:
            return False
        return super().should_set_cookie(app, session)


def init_app(app: Flask, settings: Settings) -> None:
    from werkzeug.exceptions import MethodNotAllowed

    from ivr.web.dashboard import api, i18n, templating

    secure = bool(settings.public_url and settings.public_url.startswith("https://"))
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=secure,
        PERMANENT_SESSION_LIFETIME=dt.timedelta(hours=SESSION_HOURS),
        WTF_CSRF_CHECK_DEFAULT=False,  # checked by the dashboard only, see the docstring
        WTF_CSRF_TIME_LIMIT=SESSION_HOURS * 3600,  # a page left open all shift still works
        # The import confirmation sends the CSV back as a text field: let a field use the whole
        # request size allowed (Werkzeug's default for fields is 500 kB).
        MAX_FORM_MEMORY_SIZE=app.config.get("MAX_CONTENT_LENGTH") or 1024 * 1024,
    )
    app.session_interface = FragmentSessionInterface()
    app.extensions["pingan.csrf"] = CSRFProtect(app)
    i18n.init_app(app)
    templating.init_app(app)
    app.register_blueprint(bp)
    app.register_blueprint(api.bp)
    app.register_error_handler(MethodNotAllowed, errors.wrong_method)


@bp.before_request
def _check_csrf() -> None:
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        csrf: CSRFProtect = current_app.extensions["pingan.csrf"]
        csrf.protect()


@bp.after_request
def security_headers(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if current_app.config["SESSION_COOKIE_SECURE"]:  # served over https: stay on https
        response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    if request.endpoint != "dashboard.static":
        response.headers.setdefault("Cache-Control", "no-store")  # pages hold personal data
    return response


from ivr.web.dashboard import (  # noqa: E402,F401  (routes register on bp)
    admin,
    auth,
    calls,
    doorlist,
    errors,
    escalations,
    exports,
    imports,
    notices,
    orders,
    resident_add,
    resident_edit,
    residents,
    stats,
)
