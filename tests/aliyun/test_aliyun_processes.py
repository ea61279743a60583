"""Pingan as an Alibaba Cloud deployment runs it, each part its own process: ``pingan simulator
serve --carrier aliyun`` (VMS and SMS), ``pingan serve`` (gunicorn) and a ``pingan worker``, set
up with a real deployment's settings. A resident with a high fever is called through VMS, the
duty staff are texted through 短信服务, and the delivery report the SMS service pushes to gunicorn
says the duty phone is switched off: the supervisor is texted at once.
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from ivr.domain.staff import add_staff
from storage import AuditEntry, Community, Notification, make_engine, make_sessionmaker
from tests.processes import (
    ALIYUN,
    FULL_NUMBER,
    environment,
    fresh_postgres,
    load_residents,
    processes,
    simulator_texts,
)

ALICE = "+8613903710011"  # 赵红梅, on duty; her phone is switched off
BOSS = "+8613903710033"  # 孙主任, the supervisor
FEVER = "answer 1 394# 1 2 9"  # 39.4 °C, confirmed, no symptoms, nothing needed


def add_people(url: str) -> None:
    engine = make_engine(url)
    with make_sessionmaker(engine).begin() as session:
        now = dt.datetime.now(dt.UTC)
        community = session.scalars(select(Community)).one()
        add_staff(session, "赵红梅", ALICE, community.id, "staff", now)
        add_staff(session, "孙主任", BOSS, None, "supervisor", now)
    engine.dispose()


def wait_for_texts(env: dict[str, str], timeout: float = 240) -> dict:
    """The SMS simulator's listing once the supervisor's text and every report are in."""
    deadline = time.monotonic() + timeout
    while True:
        listing = simulator_texts(env)
        to_boss = [m for m in listing["messages"] if m["to"] == BOSS[3:]]
        if to_boss and listing["idle"] and len(listing["reports"]) == len(listing["messages"]):
            return listing
        assert time.monotonic() < deadline, f"the supervisor was not texted: {listing}"
        time.sleep(0.5)


@pytest.mark.slow
def test_a_worker_texts_through_alibaba_cloud_and_an_undelivered_alert_is_passed_on(
    tmp_path: Path,
) -> None:
    with fresh_postgres() as url:
        load_residents(url, 1)
        add_people(url)
        env = environment(url, tmp_path, ALIYUN, PINGAN_ALERT_CALL="off")
        with processes(env, tmp_path) as running:
            running.services("--default", FEVER, "--unreachable", ALICE)
            started = running.run("round", "start")
            assert "1 residents to call" in started.stdout, started.stdout + started.stderr
            running.worker(1)
            listing = wait_for_texts(env)
            health = running.run("health")
            logs = running.logs()
        engine = make_engine(url)
        with make_sessionmaker(engine)() as session:
            rows = {
                n.recipient: (n.kind, n.status, n.delivery, n.delivery_code)
                for n in session.scalars(select(Notification))
            }
            passed_on = session.scalars(
                select(AuditEntry.detail).where(AuditEntry.action == "sms_passed_on")
            ).all()
        engine.dispose()

    assert sorted(m["to"] for m in listing["messages"]) == [ALICE[3:], BOSS[3:]]
    assert all(p["acknowledged"] for p in listing["reports"])  # gunicorn stored every report
    assert rows == {
        ALICE: ("opened", "sent", "failed", "MOBILE_NOT_ON_SERVICE"),
        BOSS: ("opened", "sent", "delivered", "DELIVERED"),
    }
    assert passed_on == ["opened: 赵红梅 +86139****0011 → 孙主任 +86139****0033"]
    assert "account   ok" in health.stdout, health.stdout + health.stderr  # SMS account checked
    assert not FULL_NUMBER.search(logs)
