"""Running the demo: a fresh SQLite database, the sample residents, one round with retries.

Everything goes through the product's own paths: the CSV importer loads the residents, the
simulated carrier drives the real webhooks over HTTP, the worker's jobs dial, retry and text the
staff on duty about urgent and high escalations (the simulator records the messages).

With ``carrier="aliyun"`` the carrier is the Alibaba Cloud VMS simulator: the app runs with
``PINGAN_CARRIER=aliyun``, its official SDK signs requests to the simulator's local endpoint,
and the simulator posts the 智能外呼 callbacks and receipts to the app's console URLs; the SMS
service's simulator pushes each staff text's delivery report (SmsReport) the same way.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from flask import Flask
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from ivr import carrier_of, clock_of, create_app, settings_of
from ivr.carriers.aliyun.actions import e164
from ivr.carriers.aliyun.simulator import AliyunSimulator
from ivr.carriers.aliyun.sms_simulator import SAMPLE_CODES, AliyunSmsSimulator
from ivr.carriers.simulator import Behaviour, SimulatedCarrier
from ivr.db import engine, session_scope
from ivr.demo.data import COMMUNITIES, DELIVERED, NOTICE, SAMPLES, STAFF, residents_csv
from ivr.domain import notices, orders
from ivr.domain.residents_import import import_csv
from ivr.domain.rounds import start_manual_round
from ivr.domain.staff import add_staff
from ivr.phones import normalize_phone
from ivr.worker.jobs import Jobs
from storage import CallAttempt, CheckIn, Community, Resident
from storage.migrate import upgrade

DEMO_SETTINGS: dict[str, Any] = {
    "carrier": "simulator",
    "public_url": None,
    "calls_per_second": 10.0,
    "retry_delay_s": 2,
    "max_attempts": 3,
    "call_window": (dt.time(0, 0), dt.time.max),  # the demo works at any hour
    "log_level": "WARNING",  # the summary is the output; INFO lines would bury it
}


# The demo's own Alibaba Cloud account, known to the simulator only.
ALIYUN_KEY_ID, ALIYUN_KEY_SECRET = "LTAI5tPinganDemo", "pingan-demo-access-key-secret"
ALIYUN_CALLBACK_SECRET = "pingan-demo-callback-secret"
CARRIERS = ("twilio", "aliyun")
DEMO_MAINLAND_NUMBER = "+8637165000000"  # a Zhengzhou (0371) number "bought in the console"


def demo_app(instance: Path | None = None, carrier: str = "twilio", **overrides: Any) -> Flask:
    """An app on a brand-new demo database, ``pingan-demo.db`` in the instance folder
    (``instance``, else ``PINGAN_INSTANCE_PATH``, else ``./instance``), calling through the
    simulated ``carrier`` (``twilio`` or ``aliyun``)."""
    base = create_app({"instance_path": str(instance)} if instance else {})
    folder = Path(base.instance_path)
    database = folder / "pingan-demo.db"
    lock = _lock_demo(folder)
    for leftover in folder.glob("pingan-demo.db*"):
        leftover.unlink()
    platform = _platform(settings_of(base).caller_id) if carrier == "aliyun" else None
    texts = _texts() if platform else None
    settings = {
        **DEMO_SETTINGS,
        **(_aliyun_settings(platform, texts) if platform and texts else {}),
        "instance_path": str(folder),
        "database_url": f"sqlite:///{database}",
        **overrides,
    }
    app = create_app(settings)
    app.extensions["pingan.demo_lock"] = lock  # held while the app lives
    app.extensions["pingan.demo_platform"] = platform
    app.extensions["pingan.demo_texts"] = texts
    upgrade(engine(app))
    return app


def demo_platform(app: Flask) -> AliyunSimulator | None:
    """The Alibaba Cloud simulator the demo calls through, if it does."""
    platform: AliyunSimulator | None = app.extensions.get("pingan.demo_platform")
    return platform


def demo_texts(app: Flask) -> AliyunSmsSimulator | None:
    """The Alibaba Cloud SMS simulator the demo texts staff through, if it does."""
    texts: AliyunSmsSimulator | None = app.extensions.get("pingan.demo_texts")
    return texts


def connect_platform(app: Flask, url: str) -> None:
    """The URLs "entered in the VMS and SMS consoles", once the app's webhooks are served."""
    platform, texts = demo_platform(app), demo_texts(app)
    if platform is not None:
        platform.callback_url = f"{url}/aliyun/{ALIYUN_CALLBACK_SECRET}/callback"
        platform.receipt_url = f"{url}/aliyun/{ALIYUN_CALLBACK_SECRET}/receipt"
    if texts is not None:
        texts.report_url = f"{url}/aliyun/{ALIYUN_CALLBACK_SECRET}/sms-report"


def _platform(caller_id: str) -> AliyunSimulator:
    # A Twilio-style caller ID from the environment would be refused by VMS: the demo's own
    # number is a mainland one.
    shown = caller_id if caller_id.startswith("+86") else DEMO_MAINLAND_NUMBER
    return AliyunSimulator(ALIYUN_KEY_ID, ALIYUN_KEY_SECRET, shown)


def _texts() -> AliyunSmsSimulator:
    # Staff texts go through the SMS service's simulator, which lives as long as the process.
    return AliyunSmsSimulator(ALIYUN_KEY_ID, ALIYUN_KEY_SECRET, "平安", SAMPLE_CODES)


def _aliyun_settings(platform: AliyunSimulator, texts: AliyunSmsSimulator) -> dict[str, Any]:
    return {
        **texts.app_settings(),
        "carrier": "aliyun",
        "aliyun_access_key_id": ALIYUN_KEY_ID,
        "aliyun_access_key_secret": ALIYUN_KEY_SECRET,
        "aliyun_endpoint": platform.url,
        "aliyun_callback_secret": ALIYUN_CALLBACK_SECRET,
        "caller_id": e164(platform.shown_number),
    }


class DemoRunning(Exception):
    """Another demo uses this instance folder's demo database."""


def _lock_demo(folder: Path) -> IO[bytes]:
    """Lock the folder's demo so a second ``pingan demo`` never deletes the database that a
    running ``pingan demo --serve`` is showing."""
    folder.mkdir(parents=True, exist_ok=True)
    handle = (folder / "pingan-demo.lock").open("ab")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise DemoRunning(
            f"another demo is running on {folder / 'pingan-demo.db'}; stop it first "
            "(or give this one its own PINGAN_INSTANCE_PATH)"
        ) from None
    return handle


def load_sample_district(app: Flask) -> None:
    settings, now = settings_of(app), clock_of(app).now()
    with session_scope(app) as session:
        report = import_csv(
            session, residents_csv(settings.language), now, settings.phone_region, settings.language
        )
        assert report.errors == 0, report.format_report()
        for sample in COMMUNITIES:
            session.execute(
                update(Community)
                .where(Community.name == sample.name)
                .values(hotline=sample.hotline, duty_phone=sample.duty_phone)
            )
        ids = {name: id_ for name, id_ in session.execute(select(Community.name, Community.id))}
        for member in STAFF:
            community_id = ids[member.community] if member.community else None
            add_staff(
                session,
                member.name,
                member.phone,
                community_id,
                member.role,
                now,
                region=settings.phone_region,
            )
        _news(session, settings.language, settings.tz, now, ids)
    carrier = carrier_of(app)
    platform = demo_platform(app)
    scripted = platform if platform is not None else carrier
    if isinstance(scripted, SimulatedCarrier | AliyunSimulator):
        for resident in SAMPLES:
            phone = normalize_phone(resident.phone, settings.phone_region)
            scripted.script(phone, *(Behaviour.parse(b) for b in resident.behaviours))


def _news(
    session: Session, language: str, tz: dt.tzinfo, now: dt.datetime, ids: dict[str, int]
) -> None:
    """A notice for one community and an order delivered yesterday, which the calls tell."""
    community, zh, en = NOTICE
    today = now.astimezone(tz).date()
    text = en if language == "en" else zh
    notices.add(session, ids[community], text, today, today + dt.timedelta(days=1), "周主任", now)
    phone, need, by = DELIVERED
    resident = session.scalars(select(Resident).where(Resident.phone.endswith(phone))).one()
    yesterday = now - dt.timedelta(days=1)
    (order,) = orders.open_orders(session, resident, [need], yesterday, tz)
    orders.deliver(session, order.id, by, yesterday + dt.timedelta(hours=6))


def run_round(
    app: Flask, timeout_s: float = 50.0, started_hook: Callable[[Jobs], None] | None = None
) -> float:
    """Start a round in every community and tick the jobs until every check-in is closed
    (``started_hook`` runs once the rounds have started: the Telegram demo's chat users)."""
    started = time.monotonic()
    settings, now = settings_of(app), clock_of(app).now()
    with session_scope(app) as session:
        for community in session.scalars(select(Community).order_by(Community.id)):
            start_manual_round(session, community, settings, now)
    jobs = Jobs(app, worker="demo")
    if started_hook is not None:
        started_hook(jobs)
    while time.monotonic() - started < timeout_s:
        jobs.dial()
        jobs.sweep()
        jobs.check_sla()
        jobs.send_alerts()
        if _all_settled(app):
            break
        time.sleep(0.1)
    jobs.send_alerts()  # what the last sweep opened
    texts = demo_texts(app)
    if texts is not None:  # the texts' delivery reports, while the app still answers
        texts.wait_idle()
    return time.monotonic() - started


def _all_settled(app: Flask) -> bool:
    with session_scope(app) as session:
        pending = session.scalar(
            select(func.count()).select_from(CheckIn).where(CheckIn.status == "pending")
        )
        live = session.scalar(
            select(func.count()).select_from(CallAttempt).where(CallAttempt.state != "ended")
        )
    return not pending and not live
