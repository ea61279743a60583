"""``pingan worker``: APScheduler 3.x ticking the jobs (see ``jobs.py``).

Each job is short and idempotent, runs in its own transaction and never overlaps itself
(``max_instances=1``, ``coalesce``), so a slow tick or a second worker changes nothing but pace.
Any number of workers may run against one PostgreSQL database: rounds are unique per slot,
every check-in and attempt is claimed by one worker (``ivr.worker.dialer``), and every call needs a
permit from the one row that keeps the dialing pace for all of them (``ivr.worker.pacing``).
"""

from __future__ import annotations

import logging
import signal
from typing import Any

from apscheduler.schedulers.blocking import BlockingScheduler
from flask import Flask

from ivr.worker import halt
from ivr.worker.jobs import Jobs
from ivr.worker.workers import stop

log = logging.getLogger(__name__)

# Alerts every few seconds: staff must have the SMS within a minute of an escalation opening.
INTERVALS_S = {
    "heartbeat": 10,
    "start_rounds": 20,
    "dial": 1,
    "sweep": 15,
    "check_sla": 15,
    "send_texts": 5,
    "send_chats": 5,
    "call_staff": 5,
    "call_released": 5,
    "chat_checkins": 5,
    "roll_up_stats": 60,
}


# The jobs the scheduler runs besides the heartbeat; health reports when each last completed.
JOBS = (
    "start_rounds",
    "dial",
    "sweep",
    "check_sla",
    "send_texts",
    "send_chats",
    "call_staff",
    "call_released",
    "chat_checkins",
    "roll_up_stats",
)


def build_scheduler(jobs: Jobs) -> BlockingScheduler:
    scheduler = BlockingScheduler(
        timezone="UTC",
        job_defaults={"max_instances": 1, "coalesce": True, "misfire_grace_time": 30},
    )
    scheduler.add_job(
        jobs.run,
        "interval",
        args=("heartbeat",),
        seconds=INTERVALS_S["heartbeat"],
        id="heartbeat",
        next_run_time=jobs.clock.now(),
    )
    for name in JOBS:
        # Dialing waits one interval, so the worker's first heartbeat is written before it
        # claims anything.
        first = {} if name == "dial" else {"next_run_time": jobs.clock.now()}
        scheduler.add_job(
            jobs.run, "interval", args=(name,), seconds=INTERVALS_S[name], id=name, **first
        )
    return scheduler


class _SkippedTicks(logging.Filter):
    """A dial run lasts longer than its 1-s interval while it waits for its pacing permits, so
    APScheduler's warning for every tick it skips meanwhile is noise, not news."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "maximum number of running instances" not in record.getMessage()


def run_worker(app: Flask) -> None:
    logging.getLogger("apscheduler.scheduler").addFilter(_SkippedTicks())
    jobs = Jobs(app)
    with jobs.sessions.begin() as session:
        if halt.resume(session):
            log.warning("dialing was halted by a carrier credentials error; resuming on start")
    scheduler = build_scheduler(jobs)

    def _stop(_signum: int, _frame: Any) -> None:
        # Let running jobs finish (a dial batch gives its unplaced claims back first): claims
        # left behind could only be taken back by the sweeper's dead-worker rule, later.
        log.info("worker %s stopping after its running jobs", jobs.worker)
        jobs.dialer.stopping.set()
        scheduler.shutdown(wait=True)

    signal.signal(signal.SIGTERM, _stop)
    log.info("worker %s started", jobs.worker)
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        with jobs.sessions.begin() as session:
            stop(session, jobs.worker)
