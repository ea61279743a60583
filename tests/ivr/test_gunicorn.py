"""``pingan serve`` runs gunicorn with several worker processes, and a call's webhooks may land
on any of them: all state is in the database. Here every gunicorn worker is killed between
two webhooks of one call, so each step is served by a process that has never seen the call.
The same holds for an Alibaba Cloud VMS call: one callback per key, then the receipt.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest
import requests
from flask import Flask
from sqlalchemy import select
from twilio.request_validator import RequestValidator

from ivr import create_app
from ivr.carriers.aliyun.actions import first_dynamic_id
from ivr.db import engine as engine_of
from ivr.db import session_scope
from ivr.domain.rounds import start_manual_round
from ivr.worker.dialer import queue_checkin_now
from storage import Answer, CallAttempt, CheckIn, Community, Resident
from tests.processes import (
    ALIYUN,
    CALLBACK_SECRET,
    TOKEN,
    environment,
    fresh_postgres,
    processes,
)

SID = "CA" + "4" * 32
PHONE = "+8613803710101"
STEPS = [
    ("answer", None),
    ("gather?t=0", "1"),
    ("gather?t=1", "372"),
    ("gather?t=2", "1"),
    ("gather?t=3", "2"),
    ("gather?t=4", "9"),
]


def gunicorn_workers(master: int) -> set[int]:
    listing = subprocess.run(
        ["ps", "--ppid", str(master), "-o", "pid="], capture_output=True, text=True, check=False
    ).stdout
    return {int(pid) for pid in listing.split()}


def replace_all_workers(master: int, count: int) -> None:
    """SIGKILL every gunicorn worker and wait until the master has started fresh ones."""
    old = gunicorn_workers(master)
    for pid in old:
        os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 60
    while True:
        current = gunicorn_workers(master)
        if len(current) == count and not current & old:
            return
        assert time.monotonic() < deadline, "gunicorn did not replace its workers"
        time.sleep(0.1)


def app_on(url: str, folder: Path) -> Flask:
    """An app of this test's own on the shared database, to set up and check what was stored."""
    settings = {"database_url": url, "carrier": "simulator", "twilio_auth_token": TOKEN}
    return create_app({**settings, "instance_path": str(folder)}, environ={})


def prepare_call(url: str, folder: Path, sid: str = SID) -> str:
    """A resident with a placed call, as the dialer leaves it; returns its webhook code."""
    app = app_on(url, folder / "setup")
    with session_scope(app) as session:
        community = Community(name="中原社区", created_at=app.extensions["pingan.clock"].now())
        session.add(community)
        session.flush()
        now = app.extensions["pingan.clock"].now()
        session.add(
            Resident(
                name="王秀英",
                phone=PHONE,
                community_id=community.id,
                created_at=now,
                updated_at=now,
            )
        )
        session.flush()
        settings = app.extensions["pingan.settings"].replace(
            call_window=(now.time().min, now.time().max)
        )
        start_manual_round(session, community, settings, now)
        attempt = queue_checkin_now(session, session.scalars(select(CheckIn)).one(), now)
        assert attempt is not None
        attempt.state, attempt.call_sid, attempt.placed_at = "placed", sid, now
        code = attempt.code
    engine_of(app).dispose()
    return code


def post(base: str, path: str, form: dict[str, str]) -> requests.Response:
    signature = RequestValidator(TOKEN).compute_signature(base + path, form)
    return requests.post(
        base + path,
        data=form,
        timeout=30,
        headers={"X-Twilio-Signature": signature, "Connection": "close"},
    )


@pytest.mark.slow
def test_every_webhook_of_a_call_can_be_served_by_a_different_gunicorn_worker(
    tmp_path: Path,
) -> None:
    with fresh_postgres() as url:
        code = prepare_call(url, tmp_path)
        env = environment(url, tmp_path)
        base = env["PINGAN_PUBLIC_URL"]
        form = {
            "CallSid": SID,
            "AccountSid": "AC" + "5" * 32,
            "From": "+8657100000000",
            "To": PHONE,
            "CallStatus": "in-progress",
            "ApiVersion": "2010-04-01",
            "Direction": "outbound-api",
        }
        with processes(env, tmp_path) as running:
            running.services("--default", "busy", web_workers=2)
            master = next(p.pid for p in running.started if "serve" in p.args[1:2])
            for step, digits in STEPS:
                replace_all_workers(master, 2)
                extra = {"Digits": digits, "FinishedOnKey": "#"} if digits else {}
                reply = post(base, f"/voice/{code}/{step}", {**form, **extra})
                assert reply.status_code == 200 and b"<Response>" in reply.content, step
            replace_all_workers(master, 2)
            done = post(
                base,
                f"/voice/{code}/status",
                {**form, "CallStatus": "completed", "CallDuration": "60", "SequenceNumber": "3"},
            )
            assert done.status_code == 200
        log = (tmp_path / "web.log").read_text(encoding="utf-8")
        engine = app_on(url, tmp_path / "check")
        with session_scope(engine) as session:
            checkin = session.scalars(select(CheckIn)).one()
            attempt = session.scalars(select(CallAttempt)).one()
            answers = session.scalars(select(Answer.key).order_by(Answer.id)).all()
            outcome = (checkin.status, str(checkin.temperature_c), attempt.status, attempt.outcome)
        engine_of(engine).dispose()

    assert outcome == ("complete", "37.2", "completed", "finished")
    assert answers == ["temperature_c", "symptoms"]
    served_by = re.findall(rf"/voice/{code}/\S+ HTTP/1.1\" \d+ .* worker <(\d+)>", log)
    assert len(served_by) == len(STEPS) + 1 and len(set(served_by)) == len(STEPS) + 1


def stored_outcome(url: str, folder: Path) -> tuple[tuple[str, str, str, str | None], list[str]]:
    app = app_on(url, folder)
    with session_scope(app) as session:
        checkin = session.scalars(select(CheckIn)).one()
        attempt = session.scalars(select(CallAttempt)).one()
        answers = list(session.scalars(select(Answer.key).order_by(Answer.id)))
        outcome = (checkin.status, str(checkin.temperature_c), attempt.status, attempt.outcome)
    engine_of(app).dispose()
    return outcome, answers


VMS_CALL_ID = "116012854210^119012512345"
VMS_KEYS = ["1", "3", "7", "2", "#", "1", "2", "9"]  # start, 37.2 °C, confirm, no symptoms, done


@pytest.mark.slow
def test_every_callback_of_a_vms_call_can_be_served_by_a_different_gunicorn_worker(
    tmp_path: Path,
) -> None:
    with fresh_postgres() as url:
        code = prepare_call(url, tmp_path, VMS_CALL_ID)
        env = environment(url, tmp_path, ALIYUN)
        console = f"{env['PINGAN_PUBLIC_URL']}/aliyun/{CALLBACK_SECRET}"
        with processes(env, tmp_path) as running:
            running.services("--default", "busy", web_workers=2)
            master = next(p.pid for p in running.started if "serve" in p.args[1:2])
            # The opening played: VMS's first callback, then one per key, each with the
            # dynamic_id the previous reply handed back.
            callbacks = [("mute", ""), *(("dtmf", key) for key in VMS_KEYS)]
            dynamic_id, actions = first_dynamic_id(code), []
            for kind, key in callbacks:
                replace_all_workers(master, 2)
                content = {"dynamic_id": dynamic_id, **({"dtmf": key} if key else {})}
                reply = requests.post(
                    f"{console}/callback",
                    data={
                        "call_id": VMS_CALL_ID,
                        "timestamp": str(int(time.time() * 1000)),
                        "content_type": kind,
                        "content": json.dumps(content),
                    },
                    timeout=30,
                    headers={"Connection": "close"},
                )
                assert reply.status_code == 200, (kind, key)
                data = reply.json()["data"]
                actions.append(data["action"])
                dynamic_id = data.get("dynamic_id") or dynamic_id
            replace_all_workers(master, 2)
            receipt = {
                "call_id": VMS_CALL_ID,
                "out_id": code[:15],
                "status_code": "200000",
                "duration": "60",
                "start_time": "2026-11-28 09:00:00",
                "end_time": "2026-11-28 09:01:00",
            }
            pushed = requests.post(f"{console}/receipt", json=[receipt], timeout=30)
            assert pushed.status_code == 200 and pushed.json()["code"] == 0
        log = (tmp_path / "web.log").read_text(encoding="utf-8")
        outcome, answers = stored_outcome(url, tmp_path / "check")

    assert actions[-1] == "hangup" and actions.count("play") == 5, actions
    assert outcome == ("complete", "37.2", "completed", "finished")
    assert answers == ["temperature_c", "symptoms"]
    served_by = re.findall(rf"/aliyun/{CALLBACK_SECRET}/\S+ HTTP/1.1\" \d+ .* worker <(\d+)>", log)
    assert len(served_by) == len(callbacks) + 1 and len(set(served_by)) == len(callbacks) + 1
