"""The worker's jobs, each a short transaction-scoped step that is safe to run twice.

The scheduler (``pingan worker``), ``pingan call`` and ``pingan demo`` all drive these same jobs.
"""

from __future__ import annotations

import datetime as dt
import logging

from flask import Flask
from sqlalchemy.exc import IntegrityError

from ivr import carrier_of, clock_of, flow_of, settings_of
from ivr.carriers.telegram.jobs import send_chat_checkins
from ivr.config import ConfigError
from ivr.db import sessions
from ivr.db_errors import database_unavailable
from ivr.domain import alert_calls, release_calls
from ivr.domain.alerts import CHAT_LANE, SMS_LANE, AlertSender, check_sla
from ivr.domain.order_reminders import remind_untaken
from ivr.domain.rounds import start_due_rounds
from ivr.notifiers import notifiers_for
from ivr.web.dashboard import rollups
from ivr.web.dashboard.stats import MAX_STATS_DAYS
from ivr.worker.dialer import Dialer, Urls
from ivr.worker.sweeper import Sweeper
from ivr.worker.workers import beat, worker_id

log = logging.getLogger(__name__)

ROLLUPS_PER_RUN = 10


class Jobs:
    def __init__(self, app: Flask, worker: str | None = None) -> None:
        self.app = app
        self.worker = worker or worker_id()
        self.sessions = sessions(app)
        self.clock = clock_of(app)
        self.settings = settings_of(app)
        self.dialer = Dialer(
            self.sessions, carrier_of(app), self.clock, self.settings, self._urls, self.worker
        )
        self.sweeper = Sweeper(
            self.sessions, carrier_of(app), self.clock, self.settings, flow_of(app)
        )
        notifiers = notifiers_for(app)
        self.senders = {
            lane: AlertSender(
                self.sessions, notifiers, self.clock, self.worker, self.settings, lane
            )
            for lane in (SMS_LANE, CHAT_LANE)
        }
        self.alert_caller = alert_calls.AlertCaller(
            self.sessions,
            carrier_of(app),
            self.clock,
            self.settings,
            lambda: alert_calls.Urls(self._urls().base),
            self.worker,
        )
        self.release_caller = release_calls.ReleaseCaller(
            self.sessions, carrier_of(app), self.clock, self.settings, self._urls, self.worker
        )
        self.last_ok: dict[str, dt.datetime] = {}  # job name → when its last run completed
        self.started_at = self.clock.now()

    def _urls(self) -> Urls:
        base = self.app.extensions.get("pingan.public_url")
        if not base:
            raise ConfigError(
                "PINGAN_PUBLIC_URL must be set so that the carrier can reach the webhooks."
            )
        return Urls(base.rstrip("/"))

    def start_rounds(self) -> int:
        with self.sessions.begin() as session:
            return len(start_due_rounds(session, self.settings, self.clock.now()))

    def dial(self) -> int:
        return self.dialer.run_once()

    def chat_checkins(self) -> int:
        """Check-ins offered by chat whose time has come are sent (before their call)."""
        return send_chat_checkins(self.app)

    def sweep(self) -> None:
        self.sweeper.run_once()

    def check_sla(self) -> int:
        """Queue reminders for escalations not acknowledged in time, and needs not taken."""
        with self.sessions.begin() as session:
            now = self.clock.now()
            return check_sla(session, self.settings, now) + remind_untaken(
                session, self.settings, now
            )

    def send_texts(self) -> int:
        """Send due text messages; returns how many went out."""
        return self.senders[SMS_LANE].run_once()

    def send_chats(self) -> int:
        """Post due group-chat messages; returns how many went out."""
        return self.senders[CHAT_LANE].run_once()

    def call_staff(self) -> int:
        """Ring the staff about urgent escalations nobody acknowledged; returns calls placed."""
        return self.alert_caller.run_once()

    def call_released(self) -> int:
        """Tell residents released early whom no text reaches, by one call; returns calls placed."""
        return self.release_caller.run_once()

    def send_alerts(self) -> int:
        """Both lanes, texts first (loops that are not the scheduler, which runs them apart)."""
        return self.send_texts() + self.send_chats()

    def roll_up_stats(self) -> int:
        """Roll up the closed days the statistics page would otherwise count live, a few per
        run (a first backfill of 92 days spreads over a few minutes); returns days done."""
        now, tz, fever_c = self.clock.now(), self.settings.tz, self.settings.fever_c
        with self.sessions.begin() as session:
            days = rollups.days_to_roll_up(session, tz, fever_c, now, MAX_STATS_DAYS)
        for day in days[:ROLLUPS_PER_RUN]:
            try:
                with self.sessions.begin() as session:
                    rollups.roll_up(session, day, tz, fever_c, now)
            except IntegrityError:  # another worker rolled the same day up at the same time
                log.info("statistics of %s rolled up by another worker", day)
        return min(len(days), ROLLUPS_PER_RUN)

    def heartbeat(self) -> None:
        """Tell the other workers (and ``pingan health``) this worker and its jobs are alive."""
        with self.sessions.begin() as session:
            beat(session, self.worker, self.clock.now(), dict(self.last_ok), self.started_at)

    def run(self, name: str) -> None:
        """One scheduled run of the job ``name``, remembered for the heartbeat if it completes.

        While the database is unreachable each run is skipped with one log line instead of a
        traceback per tick; the next tick after it is back simply does the work.
        """
        try:
            getattr(self, name)()
        except Exception as exc:
            if not database_unavailable(exc):
                raise
            log.warning("%s skipped: the database is unavailable (%s)", name, type(exc).__name__)
            return
        self.last_ok[name] = self.clock.now()

    def tick(self) -> int:
        """Everything once, in order (used by loops that are not the scheduler)."""
        self.heartbeat()
        self.start_rounds()
        self.chat_checkins()
        placed = self.dial()
        self.sweep()
        self.check_sla()
        self.send_alerts()
        self.call_staff()
        self.call_released()
        return placed
