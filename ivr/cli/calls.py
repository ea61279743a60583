"""``pingan call``, ``serve``, ``worker`` and ``simulator``: the commands that run calls."""

from __future__ import annotations

import datetime as dt
import logging
import time

import click
from sqlalchemy import select

from ivr import clock_of, settings_of
from ivr.carriers.telephony import FINAL_STATUSES
from ivr.cli import Pingan, cli, pass_pingan
from ivr.cli.residents import find_resident, member_option
from ivr.config import Settings
from ivr.db import session_scope
from ivr.domain.rounds import start_manual_round
from ivr.domain.schedule import schedule_for
from ivr.web.server import public_url_problem, run_gunicorn, webhooks_reachable
from ivr.worker.dialer import queue_checkin_now
from ivr.worker.jobs import Jobs
from storage import CallAttempt, CheckIn, Resident

log = logging.getLogger(__name__)


@cli.command("call")
@click.argument("phone")
@click.option("--timeout", default=600, show_default=True, help="Seconds to wait for the end.")
@member_option
@pass_pingan
def call(pingan: Pingan, phone: str, timeout: int, member: str | None) -> None:
    """Call one resident now and wait until the call has ended (a household's member named
    with --name; the call also asks their housemates still due today)."""
    app = pingan.app
    problem = public_url_problem(app)
    if problem:
        raise click.ClickException(f"{problem}; nobody was called")
    with webhooks_reachable(app):
        attempt_id = _queue_call(pingan, phone, member)
        jobs = Jobs(app)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            jobs.dialer.run_queued(attempt_id)
            with session_scope(app) as session:
                attempt = session.get(CallAttempt, attempt_id)
                assert attempt is not None
                if attempt.status in FINAL_STATUSES or attempt.state == "ended":
                    checkin = attempt.checkin
                    click.echo(
                        f"Call {attempt.call_sid or '-'} ended: {attempt.status} "
                        f"({attempt.outcome})."
                    )
                    if checkin is not None:
                        click.echo(
                            f"Check-in: {checkin.status}, temperature "
                            f"{checkin.temperature_c or '-'} °C{_unconfirmed(checkin)}, symptoms "
                            f"{_yes_no(checkin.symptoms)}, needs "
                            f"{', '.join(checkin.needs) or '-'}."
                        )
                    return
            time.sleep(0.2)
    raise click.ClickException(
        f"the call did not end within {timeout} s (the sweeper will settle it; see `pingan calls`)"
    )


def _yes_no(value: bool | None) -> str:
    return "-" if value is None else ("yes" if value else "no")


def _queue_call(pingan: Pingan, phone: str, member: str | None) -> int:
    app = pingan.app
    settings, now = settings_of(app), clock_of(app).now()
    with session_scope(app) as session:
        resident = find_resident(session, phone, settings.phone_region, member)
        today = now.astimezone(settings.tz).date()
        open_checkin = session.scalars(
            select(CheckIn).where(
                CheckIn.resident_id == resident.id,
                CheckIn.status == "pending",
                CheckIn.local_date == today,
                CheckIn.closes_at > now,
            )
        ).first()
        if open_checkin is None:
            _refuse_outside_window(resident, settings, now)
            started = start_manual_round(
                session, resident.community, settings, now, only=[resident.id], max_attempts=1
            )
            open_checkin = session.scalars(
                select(CheckIn).where(
                    CheckIn.resident_id == resident.id,
                    CheckIn.round_id == (started.round.id if started else -1),
                )
            ).first()
        if open_checkin is None:
            raise click.ClickException(
                f"{resident.name} cannot be called now "
                f"(released, on hold, or outside the calling window)"
            )
        attempt = queue_checkin_now(session, open_checkin, now)
        if attempt is None:
            raise click.ClickException(f"a call to {resident.name} is already in progress")
        click.echo(
            f"Calling {resident.name} ({resident.phone}) through the {settings.carrier} carrier…"
        )
        return attempt.id


def _refuse_outside_window(resident: Resident, settings: Settings, now: dt.datetime) -> None:
    """A round started outside the window would be closed at once and the resident marked
    unreachable without a call: a false escalation."""
    schedule = schedule_for(resident.community, settings)
    if not schedule.in_window(now):
        start, end = schedule.window_start, schedule.window_end
        raise click.ClickException(
            f"{resident.name} cannot be called now: outside {resident.community.name}'s "
            f"calling window {start:%H:%M}-{end:%H:%M}"
        )


@cli.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", type=int, help="gunicorn workers (default PINGAN_WEB_WORKERS).")
@pass_pingan
def serve(pingan: Pingan, host: str, port: int, workers: int | None) -> None:
    """Serve the webhooks (and dashboard) with gunicorn."""
    settings = settings_of(pingan.app)  # fails fast on bad settings, before forking
    click.echo(
        f"Serving Pingan on http://{host}:{port} with {workers or settings.web_workers} "
        f"gunicorn workers"
    )
    run_gunicorn(host, port, workers or settings.web_workers)


@cli.command("worker")
@pass_pingan
def worker(pingan: Pingan) -> None:
    """Run the scheduler: start rounds on time, dial, retry, sweep."""
    from ivr.worker.scheduler import run_worker

    app = pingan.app
    with webhooks_reachable(app):
        run_worker(app)


def _unconfirmed(checkin: CheckIn) -> str:
    """A reading keyed but never confirmed at the read-back says so."""
    shown = checkin.temperature_c is not None and not checkin.temperature_confirmed
    return " (unconfirmed)" if shown else ""
