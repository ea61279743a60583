"""Every Twilio webhook must carry a valid ``X-Twilio-Signature``; anything else gets 403.

A signed request holding a NUL character (never sent by a carrier) outside ``Digits`` gets 400."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import quote, urlsplit

from flask import Flask, abort, current_app, request
from twilio.request_validator import RequestValidator

from ivr import settings_of

log = logging.getLogger(__name__)
F = TypeVar("F", bound=Callable[..., Any])


def public_url(app: Flask) -> str:
    """The base URL the carrier was told to call (set, or that of the embedded server)."""
    configured: str | None = app.extensions.get("pingan.public_url")
    return configured.rstrip("/") if configured else request.host_url.rstrip("/")


def request_uri() -> str:
    """The path and query exactly as the client sent them. Twilio signs the URI it requests;
    the decoded path would let "/%61nswer" verify with the signature of "/answer"."""
    raw = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI")
    if not raw:  # a server that keeps no raw URI: the path as the client must have spelt it
        query = request.query_string.decode("latin-1")
        return quote(request.path) + (f"?{query}" if query else "")
    if not raw.startswith("/"):  # the absolute form, "http://host/path?query"
        parts = urlsplit(raw)
        return parts.path + (f"?{parts.query}" if parts.query else "")
    return str(raw)


def signed_url() -> str:
    """The exact URL the carrier signed: public base + the request URI as sent."""
    return public_url(current_app) + request_uri()


def twilio_signed(view: F) -> F:
    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        signature = request.headers.get("X-Twilio-Signature", "")
        token = settings_of(current_app).twilio_auth_token or ""
        if not signature or not RequestValidator(token).validate(
            signed_url(), request.form, signature
        ):
            log.warning("rejected unsigned or forged webhook %s %s", request.method, request.path)
            abort(403)
        if any("\x00" in value for key, value in request.form.items() if key != "Digits"):
            # No carrier sends NUL, and PostgreSQL cannot even compare a string holding one.
            # (Digits are read as keypad keys: anything else in them is a wrong entry.)
            log.warning("rejected webhook %s with a NUL character", request.path)
            abort(400)
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]
