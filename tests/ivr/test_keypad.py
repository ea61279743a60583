"""The keypad as a resident uses it: any key starts the call, ``#`` included; ``*`` repeats a
question within two seconds, the temperature's too; ``*`` between digits is a decimal point;
``#`` alone at the temperature gets a hint. Timed in the simulator's simulated seconds."""

from __future__ import annotations

from unittest.mock import patch

import pytest
from flask import Response, request

from ivr.carriers.simulator.engine import APPLICATION_ERROR
from tests.helpers import add_resident, script
from tests.ivr.test_checkin_call_end_to_end import call_round, checkin

PHONE = "+8613803710101"


def test_hash_starts_the_call(app, jobs, carrier, clock) -> None:
    add_resident(app, "王秀英", PHONE)
    script(carrier, PHONE, "answer # 365# 1 2 9")
    call_round(app, jobs, carrier, clock)
    (record,) = carrier.calls_to(PHONE)
    assert "请输入您的体温" in record.heard_text()
    row = checkin(app)
    assert row["status"] == "complete" and row["temperature_c"] == 36.5


@pytest.mark.parametrize(
    ("behaviour", "nth"),
    [
        ("answer 1 * 365# 1 2 9", 0),  # the temperature
        ("answer * 1 365# 1 2 9", 0),  # the greeting
        ("answer 1 365# * 1 2 9", 0),  # the read-back
        ("answer 1 365# 1 * 2 * 9", 1),  # the needs
    ],
)
def test_star_repeats_the_question_within_two_seconds_of_simulated_time(
    app, jobs, carrier, clock, behaviour: str, nth: int
) -> None:
    add_resident(app, "李建国", PHONE)
    script(carrier, PHONE, behaviour)
    call_round(app, jobs, carrier, clock)
    (record,) = carrier.calls_to(PHONE)
    waited = record.seconds_to_next_prompt("*", nth)
    assert waited is not None and waited <= 2.0
    assert checkin(app)["status"] == "complete"


def test_star_on_the_temperature_question_repeats_it_within_2_s(app, jobs, carrier, clock) -> None:
    add_resident(app, "李建国", PHONE)
    script(carrier, PHONE, "answer 1 * 372# 1 2 9")
    call_round(app, jobs, carrier, clock)
    (record,) = carrier.calls_to(PHONE)
    assert record.heard_text().count("请输入您的体温") == 2
    waited = record.seconds_to_next_prompt("*")
    assert waited is not None and waited <= 2.0
    assert checkin(app)["temperature_c"] == 37.2


def test_star_keyed_as_a_decimal_point_is_understood(app, jobs, carrier, clock) -> None:
    add_resident(app, "赵淑芬", PHONE)
    script(carrier, PHONE, "answer 1 36*5# 1 2 9")
    call_round(app, jobs, carrier, clock)
    (record,) = carrier.calls_to(PHONE)
    assert "您输入的是三十六点五度" in record.heard_text()
    assert checkin(app)["temperature_c"] == 36.5


def test_hash_alone_at_the_temperature_gets_the_hint_not_a_silent_reask(
    app, jobs, carrier, clock
) -> None:
    add_resident(app, "吴国强", PHONE)
    script(carrier, PHONE, "answer 1 # 366# 1 2 9")
    call_round(app, jobs, carrier, clock)
    (record,) = carrier.calls_to(PHONE)
    assert "请先用数字键输入您的体温" in record.heard_text()
    assert checkin(app)["temperature_c"] == 36.6


def fail_gathers(app) -> None:
    """The app stops answering its gather webhooks (a proxy in front of it answers 502)."""

    def bad_gateway():
        if request.path.endswith("/gather"):
            return Response("bad gateway", status=502)
        return None

    app.before_request_funcs.setdefault(None, []).append(bad_gateway)


@pytest.mark.parametrize(
    ("language", "apology"),
    [("zh-CN", "对不起，系统暂时出了问题"), ("en", "Sorry, the system has a problem")],
)
def test_a_failing_webhook_plays_our_apology_in_the_residents_language_not_twilios_english(
    app, jobs, carrier, clock, language: str, apology: str
) -> None:
    add_resident(app, "王秀英", PHONE, language=language)
    script(carrier, PHONE, "answer 1 365# 1 2 9")
    fail_gathers(app)
    call_round(app, jobs, carrier, clock)
    record = carrier.calls_to(PHONE)[0]
    assert record.error_codes()[0] == 11200  # the carrier logged the failed webhook…
    assert apology in record.heard_text()  # …and fell back to our document
    assert APPLICATION_ERROR not in record.heard_text()
    fallback = [r for r in record.requests if "/voice/fallback/" in r.url]
    assert fallback and fallback[0].method == "GET" and fallback[0].status == 200
    assert fallback[0].params["ErrorCode"] == "11200"


def test_the_fallback_document_needs_no_database(app) -> None:
    with patch("ivr.db.session_scope", side_effect=AssertionError("no database")):
        reply = app.test_client().get("/voice/fallback/yue.xml")
    assert reply.status_code == 200 and reply.mimetype == "text/xml"
    assert "對唔住" in reply.get_data(as_text=True) and "<Hangup" in reply.get_data(as_text=True)
