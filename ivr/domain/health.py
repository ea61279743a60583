"""Is Pingan able to do its job? Database, carrier, dialing halt, and the scheduler's workers.

``status`` is ``error`` when nothing can work (database unreachable, dialing halted),
``warning`` when the web side works but no calls will be made (no worker running, or a job has
not completed for a long time), when a community under watch has no one on duty (its alerts
go to the supervisors or a duty phone, see ``ivr.domain.staff.alert_targets``), or when alerts are
failing (undelivered ``PINGAN_ALERTS_FAILING_AFTER`` after they were queued), else ``ok``.
``pingan health`` also asks the carrier about the account with harmless read-only requests
(``Carrier.check``: Twilio's credentials; Alibaba Cloud's SMS signature and templates, each
approved): a finding there is an ``error``, since no alert could be texted.
``/healthz`` answers 503 only on ``error``: a load balancer must not take the webhooks away
because the worker is down. ``pingan health`` prints the same report and exits 1 unless the
status is ``ok`` (for monitoring).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, Flask, Response, current_app, jsonify
from sqlalchemy import func, select, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from ivr import carrier_of, clock_of, settings_of
from ivr.carriers.telephony import CarrierError
from ivr.db import engine, sessions
from ivr.domain.alerts import failing
from ivr.domain.staff import uncovered
from ivr.worker.halt import halt_reason
from ivr.worker.scheduler import INTERVALS_S, JOBS
from ivr.worker.workers import WorkerState, worker_states
from storage import Resident
from storage.queries import monitored_on

bp = Blueprint("health", __name__)

# A job is stale when it has not completed for this long (several of its intervals, and more
# than a dial batch at a low pace can take).
STALE_AFTER_S = {name: max(120, 5 * INTERVALS_S[name]) for name in JOBS}


LIVE_PATH = "/healthz/live"
LIVE_REPLY = {"service": "pingan", "status": "alive"}


def health_report(app: Flask, *, probe_webhooks: bool = False) -> dict[str, Any]:
    """``probe_webhooks`` (``pingan health``, never ``/healthz``, which would call itself):
    also check that the webhooks answer at PINGAN_PUBLIC_URL, and ask the carrier about the
    account."""
    report: dict[str, Any] = {"carrier": carrier_of(app).name}
    webhooks_problem = account_problem = False
    if probe_webhooks:
        webhooks_problem, report["webhooks"] = _webhooks_line(app)
        account_problem, report["account"] = _account_line(app)
    try:
        with engine(app).connect() as connection:
            connection.execute(text("SELECT 1"))
        with sessions(app).begin() as session:
            now: dt.datetime = clock_of(app).now()
            halted = halt_reason(session)
            workers = worker_states(session, now)
            settings = settings_of(app)
            nobody = uncovered(session, now, settings.tz)
            undelivered = failing(session, now, settings.alerts_failing_after_s)
            stranded = _beyond_carrier(session, carrier_of(app).name, now, settings.tz)
    except SQLAlchemyError as exc:
        report.update(status="error", database=f"unreachable ({exc.__class__.__name__})")
        return report
    scheduler_ok, scheduler, jobs = scheduler_state(workers, now)
    report.update(
        database="ok",
        dialing="halted: " + halted if halted else "ok",
        scheduler=scheduler,
        workers=[w.worker for w in workers],
        jobs=jobs,
        on_duty=f"no one on duty: {', '.join(nobody)}" if nobody else "ok",
        no_one_on_duty=nobody,
        alerts=_alerts_line(undelivered, settings.alerts_failing_after_s),
        alerts_failing=undelivered,
        reach=(
            f"{stranded} residents have mainland China (+86) numbers, which Twilio does not "
            "call: use PINGAN_CARRIER=aliyun for them"
            if stranded
            else "ok"
        ),
    )
    healthy = scheduler_ok and not nobody and not any(undelivered.values()) and not stranded
    broken = halted or webhooks_problem or account_problem
    report["status"] = "error" if broken else ("ok" if healthy else "warning")
    return report


def _beyond_carrier(session: Session, carrier: str, now: dt.datetime, tz: dt.tzinfo) -> int:
    """Residents being called whom the configured carrier cannot reach: Twilio has placed no
    calls to mainland China since 2023-11-30 (docs/carriers.md)."""
    if carrier != "twilio":
        return 0
    today = now.astimezone(tz).date()
    query = select(func.count()).where(Resident.phone.startswith("+86"), monitored_on(today))
    return int(session.scalar(query.select_from(Resident)) or 0)


def _webhooks_line(app: Flask) -> tuple[bool, str]:
    """(a problem?, one line for people)."""
    from ivr.web.server import public_url_problem

    url = settings_of(app).public_url
    problem = public_url_problem(app)
    if problem:
        return True, problem
    if not url:
        return False, "served by `pingan call` or `pingan demo` for the simulated carrier"
    return False, f"ok ({url} answers)"


def _account_line(app: Flask) -> tuple[bool, str]:
    """(a problem?, one line for people) about the carrier account."""
    try:
        problems = carrier_of(app).check()
    except CarrierError as exc:
        return True, f"cannot be checked ({exc.kind}): {exc}"
    return bool(problems), "; ".join(problems) or "ok"


def scheduler_state(
    workers: list[WorkerState], now: dt.datetime
) -> tuple[bool, str, dict[str, float | None]]:
    """(healthy, one line for people, seconds since each job last completed on any worker)."""
    jobs: dict[str, float | None] = {}
    for name in JOBS:
        runs = [w.jobs[name] for w in workers if name in w.jobs]
        jobs[name] = round((now - max(runs)).total_seconds(), 1) if runs else None
    if not workers:
        return False, "no worker running (start `pingan worker`)", jobs
    started = min((w.started_at or w.beat_at for w in workers), default=now)
    up_for = (now - started).total_seconds()
    stale = [
        name
        for name, ago in jobs.items()
        if (ago if ago is not None else up_for) > STALE_AFTER_S[name]
    ]
    count = f"{len(workers)} worker{'s' if len(workers) > 1 else ''}"
    if stale:
        shown = ", ".join(
            f"{name} {'never completed' if jobs[name] is None else _ago(jobs[name])}"
            for name in stale
        )
        return False, f"stale ({count}): {shown}", jobs
    return True, f"ok ({count}; last dial {_ago(jobs['dial'])})", jobs


def _alerts_line(undelivered: dict[str, int], after_s: int) -> str:
    if not any(undelivered.values()):
        return "ok"
    parts = [f"{n} {'SMS' if lane == 'sms' else lane}" for lane, n in undelivered.items() if n]
    return f"failing: {', '.join(parts)} not delivered after {after_s // 60} min (retrying)"


def _ago(seconds: float | None) -> str:
    if seconds is None:
        return "never"
    if seconds < 120:
        return f"{seconds:.0f} s ago"
    return f"{seconds / 60:.0f} min ago"


@bp.get(LIVE_PATH)
def live() -> Response:
    """Answers without touching the database: ``pingan call`` and ``pingan health`` ask it
    whether PINGAN_PUBLIC_URL reaches this app at all."""
    return jsonify(LIVE_REPLY)


@bp.get("/healthz")
def healthz() -> tuple[Response, int]:
    report = health_report(current_app._get_current_object())  # type: ignore[attr-defined]
    return jsonify(report), 503 if report["status"] == "error" else 200
