"""The voice webhooks as Twilio calls them: signed or not, in order or not, once or twice.

These tests post to the real app with the Flask test client, signing requests exactly as Twilio
does (``RequestValidator.compute_signature`` over the URL and the form), and look at the rows.
"""

from __future__ import annotations

from collections.abc import Mapping

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from twilio.request_validator import RequestValidator

from ivr.db import session_scope
from ivr.domain.rounds import start_manual_round
from storage import Answer, CallAttempt, CallEvent, CheckIn, Community, Escalation
from tests.conftest import AUTH_TOKEN
from tests.helpers import add_resident

SID = "CA" + "1" * 32
BASE = "http://localhost"


def sign(url: str, form: Mapping[str, str]) -> str:
    return RequestValidator(AUTH_TOKEN).compute_signature(url, dict(form))


def post(client: FlaskClient, path: str, form: Mapping[str, str], *, signature: str | None = None):
    headers = {"X-Twilio-Signature": sign(BASE + path, form) if signature is None else signature}
    return client.post(path, data=dict(form), headers=headers)


def call_form(**extra: str) -> dict[str, str]:
    form = {
        "CallSid": SID,
        "AccountSid": "AC" + "a" * 32,
        "From": "+8657100000000",
        "To": "+8613803710101",
        "CallStatus": "in-progress",
        "ApiVersion": "2010-04-01",
        "Direction": "outbound-api",
    }
    form.update(extra)
    return form


@pytest.fixture
def attempt_code(app: Flask, clock) -> str:
    """A queued outbound attempt for one resident, as the dialer leaves it before dialing."""
    from ivr.worker.dialer import queue_checkin_now

    add_resident(app, "王秀英", "+8613803710101")
    settings = app.extensions["pingan.settings"]
    with session_scope(app) as session:
        community = session.scalars(select(Community)).one()
        start_manual_round(session, community, settings, clock.now())
        checkin = session.scalars(select(CheckIn)).one()
        attempt = queue_checkin_now(session, checkin, clock.now())
        assert attempt is not None
        attempt.state, attempt.call_sid = "placed", SID
        return attempt.code


def gather(client: FlaskClient, code: str, digits: str, turn: int):
    return post(
        client,
        f"/voice/{code}/gather?t={turn}",
        call_form(Digits=digits, FinishedOnKey="#" if digits else "", msg="Gather End"),
    )


def count(app: Flask, model: type) -> int:
    with session_scope(app) as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_an_unsigned_request_is_refused_and_stores_nothing(app, attempt_code) -> None:
    client = app.test_client()
    response = client.post(f"/voice/{attempt_code}/answer", data=call_form())
    assert response.status_code == 403
    assert count(app, CallEvent) == 0


def test_a_forged_signature_is_refused(app, attempt_code) -> None:
    response = post(
        app.test_client(),
        f"/voice/{attempt_code}/answer",
        call_form(),
        signature="bm90IGEgc2lnbmF0dXJl",
    )
    assert response.status_code == 403


def test_a_signature_for_other_parameters_is_refused(app, attempt_code) -> None:
    path = f"/voice/{attempt_code}/gather?t=0"
    signed_for = call_form(Digits="1")
    response = post(
        app.test_client(), path, call_form(Digits="9"), signature=sign(BASE + path, signed_for)
    )
    assert response.status_code == 403


def test_a_signature_over_a_different_query_string_is_refused(app, attempt_code) -> None:
    form = call_form(Digits="1")
    response = post(
        app.test_client(),
        f"/voice/{attempt_code}/gather?t=0",
        form,
        signature=sign(f"{BASE}/voice/{attempt_code}/gather?t=1", form),
    )
    assert response.status_code == 403


def test_a_valid_signature_with_a_query_string_is_accepted(app, attempt_code) -> None:
    client = app.test_client()
    assert post(client, f"/voice/{attempt_code}/answer", call_form()).status_code == 200
    response = gather(client, attempt_code, "1", 0)
    assert response.status_code == 200
    assert response.mimetype == "text/xml"
    assert b"<Gather" in response.data


def test_the_answer_greets_in_mandarin_inside_a_gather(app, attempt_code) -> None:
    body = post(app.test_client(), f"/voice/{attempt_code}/answer", call_form()).data.decode()
    assert body.startswith('<?xml version="1.0" encoding="UTF-8"?><Response><Gather')
    assert 'actionOnEmptyResult="true"' in body and 'timeout="10"' in body
    assert 'language="cmn-CN"' in body and "中原社区" in body
    assert '<prosody rate="85%">' in body


def test_a_webhook_for_an_unknown_call_hangs_up_politely(app) -> None:
    response = post(app.test_client(), "/voice/no-such-code/answer", call_form())
    assert response.status_code == 200
    assert response.data.endswith(b"<Hangup /></Response>")


def test_a_status_callback_for_an_unknown_call_is_ignored(app) -> None:
    response = post(
        app.test_client(),
        "/voice/no-such-code/status",
        call_form(CallStatus="completed", SequenceNumber="3"),
    )
    assert response.status_code == 200
    assert count(app, CallEvent) == 0


def test_a_replayed_gather_does_not_store_an_answer_twice(app, attempt_code) -> None:
    client = app.test_client()
    post(client, f"/voice/{attempt_code}/answer", call_form())
    gather(client, attempt_code, "1", 0)
    gather(client, attempt_code, "365", 1)
    first = gather(client, attempt_code, "1", 2)
    replay = gather(client, attempt_code, "1", 2)
    assert b"<Gather" in first.data and b"<Gather" in replay.data
    with session_scope(app) as session:
        answers = session.scalars(select(Answer.key)).all()
        state = session.scalars(select(CallAttempt)).one().flow_state
    assert answers == ["temperature_c"]
    assert state["step"] == "symptoms"


def test_keys_after_the_call_ended_only_hang_up(app, attempt_code) -> None:
    client = app.test_client()
    post(client, f"/voice/{attempt_code}/answer", call_form())
    post(
        client,
        f"/voice/{attempt_code}/status",
        call_form(CallStatus="completed", SequenceNumber="3"),
    )
    response = gather(client, attempt_code, "1", 0)
    assert response.data.endswith(b"<Hangup /></Response>")
    assert count(app, Answer) == 0


def test_a_hang_up_mid_call_keeps_the_answers_already_keyed(app, attempt_code) -> None:
    client = app.test_client()
    post(client, f"/voice/{attempt_code}/answer", call_form())
    for turn, digits in enumerate(["1", "385", "1", "2"]):
        gather(client, attempt_code, digits, turn)
    post(
        client,
        f"/voice/{attempt_code}/status",
        call_form(CallStatus="completed", CallDuration="40", SequenceNumber="3"),
    )
    with session_scope(app) as session:
        checkin = session.scalars(select(CheckIn)).one()
        attempt = session.scalars(select(CallAttempt)).one()
        reasons = session.scalars(select(Escalation.reason)).all()
    assert (checkin.status, str(checkin.temperature_c), checkin.symptoms) == (
        "partial",
        "38.5",
        False,
    )
    assert (attempt.status, attempt.outcome, attempt.duration_s) == ("completed", "hung_up", 40)
    assert reasons == ["high_fever"]


def test_duplicate_and_late_status_callbacks_never_move_a_final_status_back(
    app, attempt_code
) -> None:
    client = app.test_client()
    status = f"/voice/{attempt_code}/status"
    post(client, status, call_form(CallStatus="initiated", SequenceNumber="0"))
    post(client, status, call_form(CallStatus="busy", SequenceNumber="2"))
    post(client, status, call_form(CallStatus="busy", SequenceNumber="2"))
    post(client, status, call_form(CallStatus="ringing", SequenceNumber="1"))
    post(client, status, call_form(CallStatus="completed", SequenceNumber="3"))
    with session_scope(app) as session:
        attempt = session.scalars(select(CallAttempt)).one()
        events = session.scalars(select(CallEvent.name).where(CallEvent.kind == "status")).all()
        checkin = session.scalars(select(CheckIn)).one()
    assert attempt.status == "busy" and attempt.state == "ended"
    assert events == ["initiated", "busy"]
    assert checkin.next_attempt_at is not None  # one retry scheduled, not two


def test_out_of_order_progress_events_are_ignored(app, attempt_code) -> None:
    client = app.test_client()
    status = f"/voice/{attempt_code}/status"
    post(client, status, call_form(CallStatus="ringing", SequenceNumber="1"))
    post(client, status, call_form(CallStatus="initiated", SequenceNumber="0"))
    with session_scope(app) as session:
        attempt = session.scalars(select(CallAttempt)).one()
    assert (attempt.last_event, attempt.last_sequence) == ("ringing", 1)


def test_a_status_callback_for_another_call_sid_changes_nothing(app, attempt_code) -> None:
    post(
        app.test_client(),
        f"/voice/{attempt_code}/status",
        call_form(CallSid="CA" + "9" * 32, CallStatus="completed", SequenceNumber="3"),
    )
    with session_scope(app) as session:
        assert session.scalars(select(CallAttempt)).one().status is None


@pytest.mark.parametrize("digits", ["", "#", "abc", "9" * 40, "３６５", "\u0000"])
def test_bad_keypad_input_never_crashes_the_call(app, attempt_code, digits: str) -> None:
    client = app.test_client()
    post(client, f"/voice/{attempt_code}/answer", call_form())
    gather(client, attempt_code, "1", 0)
    response = gather(client, attempt_code, digits, 1)
    assert response.status_code == 200 and b"<Response>" in response.data
    assert count(app, Answer) == 0


def test_a_gather_with_no_turn_is_treated_as_a_replay(app, attempt_code) -> None:
    client = app.test_client()
    post(client, f"/voice/{attempt_code}/answer", call_form())
    response = post(client, f"/voice/{attempt_code}/gather", call_form(Digits="1"))
    assert response.status_code == 200
    with session_scope(app) as session:
        assert session.scalars(select(CallAttempt)).one().flow_state["step"] == "greeting"


def snapshot(app: Flask) -> tuple[int, int, object]:
    with session_scope(app) as session:
        state = dict(session.scalars(select(CallAttempt)).one().flow_state or {})
    return count(app, CallEvent), count(app, Answer), state


def test_a_signature_for_the_path_is_not_valid_for_an_encoded_spelling_of_it(
    app, attempt_code
) -> None:
    """Twilio signs the URI it requests: "/%61nswer" is another URI than "/answer"."""
    signed_for = f"{BASE}/voice/{attempt_code}/answer"
    response = post(
        app.test_client(),
        f"/voice/{attempt_code}/%61nswer",
        call_form(),
        signature=sign(signed_for, call_form()),
    )
    assert response.status_code == 403
    assert count(app, CallEvent) == 0


def test_shifting_a_parameter_boundary_under_the_same_signature_is_refused(
    app, attempt_code, caplog
) -> None:
    """``Digits=1`` and ``Digit=s1`` sign the same string; the second is no Twilio request."""
    client = app.test_client()
    post(client, f"/voice/{attempt_code}/answer", call_form())
    path = f"/voice/{attempt_code}/gather?t=0"
    captured = call_form(Digits="1", FinishedOnKey="#", msg="Gather End")
    shifted = {k: v for k, v in captured.items() if k != "Digits"} | {"Digit": "s1"}
    assert sign(BASE + path, shifted) == sign(BASE + path, captured)
    before = snapshot(app)
    response = post(client, path, shifted, signature=sign(BASE + path, captured))
    assert response.status_code in (400, 403)
    assert snapshot(app) == before
    assert any("Digit" in r.getMessage() for r in caplog.records if r.levelname == "WARNING")


EVERY_CALL_PARAMETER = {
    "CallSid": SID,
    "AccountSid": "AC" + "a" * 32,
    "From": "+8657100000000",
    "To": "+8613803710101",
    "CallStatus": "in-progress",
    "ApiVersion": "2010-04-01",
    "Direction": "outbound-api",
    "ForwardedFrom": "",
    "CallerName": "",
    "ParentCallSid": "",
    "Caller": "+8657100000000",
    "Called": "+8613803710101",
    **{
        f"{who}{what}": ""
        for who in ("From", "To", "Caller", "Called")
        for what in ("City", "State", "Zip", "Country")
    },
    "StirVerstat": "TN-Validation-Passed-A",
}


@pytest.mark.parametrize(
    ("endpoint", "extra"),
    [
        ("answer", {"AnsweredBy": "human", "MachineDetectionDuration": "2100"}),
        ("gather?t=0", {"Digits": "1", "FinishedOnKey": "#", "msg": "Gather End"}),
        (
            "status",
            {
                "CallStatus": "completed",
                "Timestamp": "Sat, 28 Nov 2026 01:00:40 +0000",
                "CallbackSource": "call-progress-events",
                "SequenceNumber": "3",
                "CallDuration": "40",
                "Duration": "1",
                "SipResponseCode": "200",
                "AnsweredBy": "human",
                "QueueTime": "0",
            },
        ),
    ],
)
def test_every_parameter_twilio_sends_is_accepted(app, attempt_code, endpoint, extra) -> None:
    client = app.test_client()
    if endpoint != "answer":
        post(client, f"/voice/{attempt_code}/answer", call_form())
    response = post(client, f"/voice/{attempt_code}/{endpoint}", EVERY_CALL_PARAMETER | extra)
    assert response.status_code in (200, 204), response.data


@pytest.mark.parametrize(
    ("endpoint", "extra"),
    [
        ("answer", {"Digits": "1"}),
        ("answer", {"Body": "1234"}),
        ("status", {"Digits": "1", "SequenceNumber": "3", "CallStatus": "completed"}),
        ("gather?t=0", {"DialCallStatus": "completed"}),
        ("screen?leg=0", {"Digits": "1"}),
        ("screened?leg=0", {"DialCallStatus": "completed"}),
    ],
)
def test_a_parameter_a_webhook_never_receives_is_refused(
    app, attempt_code, endpoint, extra
) -> None:
    client = app.test_client()
    post(client, f"/voice/{attempt_code}/answer", call_form())
    before = snapshot(app)
    response = post(client, f"/voice/{attempt_code}/{endpoint}", call_form(**extra))
    assert response.status_code == 400
    assert snapshot(app) == before
