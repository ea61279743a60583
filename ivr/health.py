"""Is Pingan able to do its job? Database, carrier, dialing halt and workers.

``/healthz`` answers 200 when healthy and 503 otherwise (for load balancers and monitors);
``pingan health`` prints the same report and exits 1 when unhealthy.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, Flask, Response, current_app, jsonify
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from ivr import carrier_of, clock_of
from ivr.db import engine, sessions
from ivr.halt import halt_reason
from ivr.workers import alive_workers

bp = Blueprint("health", __name__)


def health_report(app: Flask) -> dict[str, Any]:
    report: dict[str, Any] = {"carrier": carrier_of(app).name}
    try:
        with engine(app).connect() as connection:
            connection.execute(text("SELECT 1"))
        with sessions(app).begin() as session:
            now: dt.datetime = clock_of(app).now()
            halted = halt_reason(session)
            workers = sorted(alive_workers(session, now))
    except SQLAlchemyError as exc:
        report.update(status="error", database=f"unreachable ({exc.__class__.__name__})")
        return report
    report.update(database="ok", workers=workers, dialing="halted: " + halted if halted else "ok")
    report["status"] = "error" if halted else "ok"
    return report


@bp.get("/healthz")
def healthz() -> tuple[Response, int]:
    report = health_report(current_app._get_current_object())  # type: ignore[attr-defined]
    return jsonify(report), 200 if report["status"] == "ok" else 503
