"""``pingan worker``: APScheduler 3.x ticking the jobs (see ``jobs.py``).

Each job is short and idempotent, runs in its own transaction and never overlaps itself
(``max_instances=1``, ``coalesce``), so a slow tick or a second worker changes nothing but pace.
"""

from __future__ import annotations

import logging
import signal
from typing import Any

from apscheduler.schedulers.blocking import BlockingScheduler
from flask import Flask

from ivr import halt
from ivr.jobs import Jobs
from ivr.workers import stop

log = logging.getLogger(__name__)

# Alerts every few seconds: staff must have the SMS within a minute of an escalation opening.
INTERVALS_S = {
    "heartbeat": 10,
    "start_rounds": 20,
    "dial": 1,
    "sweep": 15,
    "check_sla": 15,
    "send_alerts": 5,
}


def build_scheduler(jobs: Jobs) -> BlockingScheduler:
    scheduler = BlockingScheduler(
        timezone="UTC",
        job_defaults={"max_instances": 1, "coalesce": True, "misfire_grace_time": 30},
    )
    scheduler.add_job(
        jobs.heartbeat,
        "interval",
        seconds=INTERVALS_S["heartbeat"],
        id="heartbeat",
        next_run_time=jobs.clock.now(),
    )
    scheduler.add_job(
        jobs.start_rounds,
        "interval",
        seconds=INTERVALS_S["start_rounds"],
        id="start_rounds",
        next_run_time=jobs.clock.now(),
    )
    scheduler.add_job(jobs.dial, "interval", seconds=INTERVALS_S["dial"], id="dial")
    scheduler.add_job(
        jobs.sweep,
        "interval",
        seconds=INTERVALS_S["sweep"],
        id="sweep",
        next_run_time=jobs.clock.now(),
    )
    for name in ("check_sla", "send_alerts"):
        scheduler.add_job(
            getattr(jobs, name),
            "interval",
            seconds=INTERVALS_S[name],
            id=name,
            next_run_time=jobs.clock.now(),
        )
    return scheduler


def run_worker(app: Flask) -> None:
    jobs = Jobs(app)
    with jobs.sessions.begin() as session:
        if halt.resume(session):
            log.warning("dialing was halted by a carrier credentials error; resuming on start")
    scheduler = build_scheduler(jobs)

    def _stop(_signum: int, _frame: Any) -> None:
        log.info("worker %s stopping", jobs.worker)
        scheduler.shutdown(wait=False)

    signal.signal(signal.SIGTERM, _stop)
    log.info("worker %s started", jobs.worker)
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        with jobs.sessions.begin() as session:
            stop(session, jobs.worker)
