"""A resident released early whom no text reaches (a landline) is told by one short call.

Stories through the real app, the CLI and the dashboard, the real worker jobs and the simulated
carriers (Twilio and Alibaba Cloud VMS alike), on SQLite and PostgreSQL: the call's words, its
outcome on the resident's page and in the audit trail, and staff asked to phone when it fails.
"""

from __future__ import annotations

import datetime as dt
import threading
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from ivr.cli import Pingan, cli
from ivr.db import session_scope
from ivr.domain import release_calls
from ivr.worker.jobs import Jobs
from storage import AuditEntry, CallAttempt, Notification, Resident, Staff
from tests.dashboard.pages import csrf_token, password_hash, signed_in, text
from tests.helpers import add_resident, script
from tests.ivr.alerting import staff_member

pytestmark = pytest.mark.both_carriers

LANDLINE = "+8637165012345"  # a Zhengzhou fixed line: no text reaches it
MESSAGE = (
    "您好！这里是中原社区。您的居家隔离已由社区提前解除，今后不再给您打每日健康回访电话。"
    "感谢您的配合。"
)
GOODBYE = "谢谢您。祝您平安健康，再见！"
STAFF = "+8613903710011"
SHANGHAI = ZoneInfo("Asia/Shanghai")
START = dt.date(2026, 11, 20)  # day 9 of 14 on 2026-11-28: a release today is early


def cli_run(app: Flask, *args: str) -> str:
    result = CliRunner().invoke(cli, list(args), obj=Pingan(app=app))
    assert result.exit_code == 0, result.output
    return result.output


def staff_client(app: Flask, role: str = "staff") -> FlaskClient:
    """赵红梅 of 中原社区, signed in to the dashboard."""
    staff_id = staff_member(app, "赵红梅", STAFF, role=role)
    with session_scope(app) as session:
        found = session.get(Staff, staff_id)
        assert found is not None
        found.password_hash = password_hash()
    return signed_in(app, STAFF)


def landline_resident(app: Flask) -> int:
    return add_resident(app, "王秀英", LANDLINE, isolation_start=START)


def call_released(jobs: Jobs, carrier) -> int:
    placed = jobs.call_released()
    assert carrier.wait_idle(30), "simulated calls did not finish"
    return placed


def release_calls_made(app: Flask) -> list[tuple[int, str | None, str | None]]:
    with session_scope(app) as session:
        query = (
            select(CallAttempt).where(CallAttempt.flow_name == "release").order_by(CallAttempt.id)
        )
        return [(a.attempt_no, a.status, a.outcome) for a in session.scalars(query)]


def trail(app: Flask, resident_id: int) -> list[tuple[str, str | None]]:
    with session_scope(app) as session:
        query = (
            select(AuditEntry.action, AuditEntry.detail)
            .where(AuditEntry.entity == "resident", AuditEntry.entity_id == resident_id)
            .order_by(AuditEntry.id)
        )
        return [(action, detail) for action, detail in session.execute(query)]


def test_a_landline_resident_released_early_hears_the_release_message_on_one_short_call(
    app, jobs, carrier, clock
) -> None:
    resident = landline_resident(app)
    script(carrier, LANDLINE, "answer * 1")  # hears it, asks to hear it again, then a key
    said = cli_run(app, "residents", "release", LANDLINE, "--reason", "核酸阴性，提前解除")
    assert "Pingan calls them once to tell them" in said

    assert call_released(jobs, carrier) == 1
    (call,) = carrier.calls_to(LANDLINE)
    words = call.heard_text()
    assert words.count(MESSAGE) == 2 and words.endswith(GOODBYE)
    assert release_calls_made(app) == [(1, "completed", "finished")]
    assert ("release_call_ended", "call 1: heard") in trail(app, resident)
    assert call_released(jobs, carrier) == 0  # once: nothing more is placed
    with session_scope(app) as session:
        assert session.scalars(select(Notification)).all() == []  # and no text was tried


def test_the_release_call_is_on_the_residents_page_with_how_it_went(
    app, jobs, carrier, clock
) -> None:
    resident = landline_resident(app)
    script(carrier, LANDLINE, "answer -")  # hears it and says nothing: goodbye
    cli_run(app, "residents", "release", LANDLINE)
    call_released(jobs, carrier)
    client = staff_client(app, role="supervisor")
    page = text(client.get(f"/residents/{resident}"))
    assert "解除隔离通知 · 第 1 次 · 已接通 · 通话完成" in page
    assert "解除隔离通知电话结束 第 1 次：已听到通知" in page
    assert "请打电话告诉本人" not in page
    with session_scope(app) as session:
        (call_id,) = session.scalars(select(CallAttempt.id)).all()
    assert client.get("/calls").status_code == 200
    timeline = text(client.get(f"/calls/{call_id}"))
    assert "解除隔离通知" in timeline and "无输入" in timeline  # the silence that ended it


def test_unticked_no_call_is_placed(app, jobs, carrier, clock) -> None:
    resident = landline_resident(app)
    said = cli_run(app, "residents", "release", LANDLINE, "--no-tell")
    assert "landline" not in said
    assert call_released(jobs, carrier) == 0
    assert carrier.calls_to(LANDLINE) == [] and release_calls_made(app) == []
    assert [a for a, _ in trail(app, resident)] == ["released"]


def test_a_release_call_nobody_answers_is_tried_once_more_then_staff_are_told_to_phone(
    app, jobs, carrier, clock
) -> None:
    resident = landline_resident(app)
    script(carrier, LANDLINE, "no-answer", "no-answer")
    cli_run(app, "residents", "release", LANDLINE)

    call_released(jobs, carrier)
    clock.advance(minutes=29)
    assert call_released(jobs, carrier) == 0  # the retry waits half an hour
    clock.advance(minutes=1)
    assert call_released(jobs, carrier) == 1
    clock.advance(hours=3)
    assert call_released(jobs, carrier) == 0  # two calls at most

    assert len(carrier.calls_to(LANDLINE)) == 2
    assert release_calls_made(app) == [(1, "no-answer", "not_reached"),
                                       (2, "no-answer", "not_reached")]  # fmt: skip
    actions = trail(app, resident)
    assert actions[-1] == ("release_call_unreached", "no-answer")
    assert ("release_call_ended", "call 2: no-answer") in actions
    page = text(staff_client(app).get(f"/residents/{resident}"))
    assert "解除隔离通知电话没有打通：请打电话告诉本人已解除隔离。" in page


def test_a_release_call_the_carrier_fails_is_not_retried_and_staff_are_told(
    app, jobs, carrier, clock
) -> None:
    resident = landline_resident(app)
    script(carrier, LANDLINE, "failed")
    cli_run(app, "residents", "release", LANDLINE)
    call_released(jobs, carrier)
    clock.advance(hours=1)
    assert call_released(jobs, carrier) == 0
    assert release_calls_made(app) == [(1, "failed", "not_reached")]
    assert trail(app, resident)[-1] == ("release_call_unreached", "failed")


def test_released_after_calling_hours_the_call_waits_for_the_morning(
    app, jobs, carrier, clock
) -> None:
    landline_resident(app)
    script(carrier, LANDLINE, "answer 1")
    clock.set(dt.datetime(2026, 11, 28, 21, 30, tzinfo=SHANGHAI))  # window 08-20
    cli_run(app, "residents", "release", LANDLINE)
    assert call_released(jobs, carrier) == 0
    clock.set(dt.datetime(2026, 11, 29, 7, 59, tzinfo=SHANGHAI))
    assert call_released(jobs, carrier) == 0
    clock.advance(minutes=1)
    assert call_released(jobs, carrier) == 1
    assert MESSAGE in carrier.calls_to(LANDLINE)[0].heard_text()


def test_a_resident_resumed_before_the_call_is_not_called(app, jobs, carrier, clock) -> None:
    resident = landline_resident(app)
    clock.set(dt.datetime(2026, 11, 28, 21, 30, tzinfo=SHANGHAI))
    cli_run(app, "residents", "release", LANDLINE)
    with session_scope(app) as session:
        found = session.get(Resident, resident)
        assert found is not None
        found.released_at = None  # resumed (the dashboard's 恢复呼叫) before the morning
    clock.set(dt.datetime(2026, 11, 29, 9, 0, tzinfo=SHANGHAI))
    assert call_released(jobs, carrier) == 0
    assert carrier.calls_to(LANDLINE) == []
    assert release_calls_made(app) == [(1, None, "cancelled")]


def test_two_workers_ring_a_released_resident_once(app, server, carrier, clock) -> None:
    landline_resident(app)
    script(carrier, LANDLINE, "answer 1", "answer 1")
    cli_run(app, "residents", "release", LANDLINE)
    workers = [Jobs(app, worker=f"worker-{n}") for n in (1, 2)]
    barrier = threading.Barrier(2)
    placed: list[int] = []

    def run(jobs: Jobs) -> None:
        barrier.wait()
        placed.append(jobs.call_released())

    threads = [threading.Thread(target=run, args=(w,)) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert carrier.wait_idle(30)
    assert sorted(placed) == [0, 1]
    assert len(carrier.calls_to(LANDLINE)) == 1


def test_a_mobile_is_still_texted_and_not_called(app, jobs, carrier, clock) -> None:
    mobile = "+8613803710101"
    add_resident(app, "李建国", mobile, isolation_start=START)
    cli_run(app, "residents", "release", mobile)
    assert call_released(jobs, carrier) == 0 and release_calls_made(app) == []
    with session_scope(app) as session:
        (text_,) = session.scalars(select(Notification)).all()
        assert text_.recipient == mobile and text_.kind == "release"


def test_staff_releasing_on_the_dashboard_are_told_pingan_will_call(app, jobs, carrier) -> None:
    resident = landline_resident(app)
    client = staff_client(app)
    form = text(client.get(f"/residents/{resident}"))
    assert "打一次电话告知居民已提前解除（固定电话收不到短信）" in form
    page = client.post(
        f"/residents/{resident}/release",
        data={"reason": "核酸阴性", "tell": "1", "csrf_token": csrf_token(client, "/today")},
        follow_redirects=True,
    )
    assert "平安将在呼叫时段内打一次电话告知" in text(page)
    assert release_calls_made(app) == [(1, None, None)]


def test_unticked_on_the_dashboard_no_call_is_queued(app, jobs, carrier) -> None:
    resident = landline_resident(app)
    client = staff_client(app)
    client.post(
        f"/residents/{resident}/release",
        data={"reason": "核酸阴性", "csrf_token": csrf_token(client, "/today")},
    )
    assert release_calls_made(app) == []
    assert call_released(jobs, carrier) == 0


def test_a_claim_whose_worker_died_is_never_placed_late_and_staff_are_told(
    app, jobs, carrier, clock
) -> None:
    resident = landline_resident(app)
    cli_run(app, "residents", "release", LANDLINE)
    with session_scope(app) as session:  # a worker claims it, then dies before placing it
        settings = app.extensions["pingan.settings"]
        assert len(release_calls.claim_due(session, settings, clock.now(), "gone-worker")) == 1
    assert call_released(jobs, carrier) == 0  # another worker leaves the claim alone
    clock.advance(minutes=11)
    assert call_released(jobs, carrier) == 0
    assert carrier.calls_to(LANDLINE) == []
    assert release_calls_made(app) == [(1, None, "lost")]
    assert trail(app, resident)[-1] == ("release_call_unreached", "lost")
