"""A small read-only JSON API for other systems: escalations, check-ins and calls.

``Authorization: Bearer <token>`` on every request (``pingan staff token PHONE`` makes one).
The token acts as its staff member: the same community scope as in the dashboard, and call
records only for supervisors and admins. Lists are paged by id: pass the ``next_after_id`` of
one answer as ``after_id`` to get the next page (stable while new rows arrive).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, Response, current_app, g, jsonify, request
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from werkzeug.exceptions import HTTPException

from ivr import clock_of, flow_of, settings_of
from ivr.db import session_scope
from ivr.domain.reports import answers_by_checkin, keys_of, list_answer_keys
from ivr.domain.staff import PROPERTY
from ivr.web.dashboard import SECURITY_HEADERS
from ivr.web.dashboard.accounts import staff_by_token
from ivr.web.dashboard.auth import Viewer, viewer_of
from ivr.web.dashboard.queries import in_scope
from storage import CallAttempt, CheckIn, Community, Escalation, Resident

bp = Blueprint("api", __name__, url_prefix="/api/v1")

MAX_LIMIT = 500
STATUSES = ("open", "acknowledged", "resolved", "unresolved")


class ApiError(Exception):
    def __init__(self, message: str, code: int = 400) -> None:
        super().__init__(message)
        self.message, self.code = message, code


@bp.before_request
def _authenticate() -> None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError("send Authorization: Bearer <token>", 401)
    with session_scope() as db:
        staff = staff_by_token(db, token.strip())
        if staff is None:
            raise ApiError("the token is not valid", 401)
        if staff.role == PROPERTY:  # the API is all health data: none of it is theirs
            raise ApiError("this account may not use the API", 403)
        g.api_viewer = viewer_of(staff, staff.community)


@bp.after_request
def _headers(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    response.headers.setdefault("Cache-Control", "no-store")
    return response


@bp.errorhandler(ApiError)
def _api_error(error: ApiError) -> tuple[Response, int]:
    response = jsonify(error=error.message)
    if error.code == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="pingan"'
    return response, error.code


@bp.errorhandler(HTTPException)
def _http_error(error: HTTPException) -> tuple[Response, int]:
    return jsonify(error=error.description), error.code or 500


def _viewer() -> Viewer:
    found: Viewer = g.api_viewer
    return found


def _int_arg(name: str, default: int, high: int) -> int:
    raw = request.args.get(name, "")
    if not raw:
        return default
    if not raw.isascii() or not raw.isdigit() or not 0 <= int(raw) <= high:
        raise ApiError(f"{name} must be a whole number from 0 to {high}")
    return int(raw)


def _day_arg() -> dt.date:
    raw = request.args.get("date")
    if not raw:
        return clock_of(current_app).now().astimezone(settings_of(current_app).tz).date()
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise ApiError("date must be YYYY-MM-DD") from None


def _limits() -> tuple[int, int]:
    return max(1, _int_arg("limit", 100, MAX_LIMIT)), _int_arg("after_id", 0, 2**31 - 1)


def _local(when: dt.datetime | None) -> str | None:
    tz = settings_of(current_app).tz
    return when.astimezone(tz).isoformat(timespec="seconds") if when else None


def _number(value: Any) -> float | None:
    return float(value) if value is not None else None


def _answer(rows: list[dict[str, Any]], limit: int) -> Response:
    more = len(rows) > limit
    rows = rows[:limit]
    return jsonify(items=rows, next_after_id=rows[-1]["id"] if more and rows else None)


@bp.get("/escalations")
def escalations() -> Response:
    """``status`` open | acknowledged | resolved | unresolved (default: every status)."""
    status = request.args.get("status")
    if status and status not in STATUSES:
        raise ApiError(f"status must be one of {', '.join(STATUSES)}")
    limit, after = _limits()
    query = (
        select(Escalation, Resident, Community.name)
        .join(Resident, Resident.id == Escalation.resident_id)
        .join(Community, Community.id == Escalation.community_id)
        .where(Escalation.id > after)
        .order_by(Escalation.id)
        .limit(limit + 1)
    )
    if status == "unresolved":
        query = query.where(Escalation.status != "resolved")
    elif status:
        query = query.where(Escalation.status == status)
    query = in_scope(query, Escalation.community_id, _viewer().scope)
    with session_scope() as db:
        rows = [_escalation(e, r, name) for e, r, name in db.execute(query)]
    return _answer(rows, limit)


def _escalation(e: Escalation, r: Resident, community: str) -> dict[str, Any]:
    return {
        "id": e.id,
        "community": community,
        "resident_id": r.id,
        "name": r.name,
        "phone": r.phone,
        "address": r.address,
        "reason": e.reason,
        "severity": e.severity,
        "status": e.status,
        "temperature_c": _number(e.temperature_c),
        "temperature_confirmed": e.temperature_confirmed if e.temperature_c is not None else None,
        "detail": e.detail,
        "events": e.events,
        "opened_at": _local(e.opened_at),
        "acknowledged_by": e.acknowledged_by,
        "acknowledged_at": _local(e.acknowledged_at),
        "resolved_by": e.resolved_by,
        "resolved_at": _local(e.resolved_at),
        "outcome": e.outcome,
        "note": e.note,
    }


@bp.get("/checkins")
def checkins() -> Response:
    """Check-ins of one local ``date`` (default today) with every answer as keyed."""
    day = _day_arg()
    limit, after = _limits()
    query = (
        select(CheckIn, Resident, Community.name)
        .join(Resident, Resident.id == CheckIn.resident_id)
        .join(Community, Community.id == Resident.community_id)
        .where(CheckIn.local_date == day, CheckIn.id > after)
        .order_by(CheckIn.id)
        .limit(limit + 1)
    )
    query = in_scope(query, Resident.community_id, _viewer().scope)
    list_keys = list_answer_keys(flow_of(current_app))
    with session_scope() as db:
        found = db.execute(query).all()
        answers = answers_by_checkin(db, [c.id for c, *_ in found], list_keys)
        rows = [
            {
                "id": c.id,
                "date": c.local_date.isoformat(),
                "community": name,
                "resident_id": r.id,
                "name": r.name,
                "phone": r.phone,
                "status": c.status,
                "temperature_c": _number(c.temperature_c),
                "temperature_confirmed": (
                    c.temperature_confirmed if c.temperature_c is not None else None
                ),
                "symptoms": c.symptoms,
                "needs": list(c.needs or []),
                "callback_requested": c.callback_requested,
                "attempts": c.attempts,
                "source": c.source,
                "answers": answers[c.id],
            }
            for c, r, name in found
        ]
    return _answer(rows, limit)


@bp.get("/calls")
def calls() -> Response:
    """Call attempts created on one local ``date`` (supervisors and admins)."""
    if not _viewer().supervising:
        raise ApiError("call records are for supervisors and admins", 403)
    day = _day_arg()
    tz = settings_of(current_app).tz
    start = dt.datetime.combine(day, dt.time(), tz)
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tz)
    limit, after = _limits()
    query = (
        select(CallAttempt)
        .options(selectinload(CallAttempt.events))
        .outerjoin(Resident, Resident.id == CallAttempt.resident_id)
        .where(
            CallAttempt.created_at >= start, CallAttempt.created_at < end, CallAttempt.id > after
        )
        .order_by(CallAttempt.id)
        .limit(limit + 1)
    )
    query = in_scope(query, Resident.community_id, _viewer().scope)
    with session_scope() as db:
        rows = [_call(a) for a in db.scalars(query)]
    return _answer(rows, limit)


def _call(a: CallAttempt) -> dict[str, Any]:
    return {
        "id": a.id,
        "call_sid": a.call_sid,
        "resident_id": a.resident_id,
        "checkin_id": a.checkin_id,
        "phone": a.phone,
        "direction": a.direction,
        "attempt": a.attempt_no,
        "state": a.state,
        "status": a.status,
        "answered_by": a.answered_by,
        "duration_s": a.duration_s,
        "outcome": a.outcome,
        "created_at": _local(a.created_at),
        "answered_at": _local(a.answered_at),
        "ended_at": _local(a.ended_at),
        "keys": keys_of(a.events),
        "error": a.carrier_error,
    }
