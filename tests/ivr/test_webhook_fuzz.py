"""Hostile and malformed input on every webhook: never a 500, never a change a real call did not
make.

Hypothesis generates forms, query strings and headers, posted through the Flask test client
both unsigned (or wrongly signed) and with valid signatures over the fuzzed parameters (as if
Twilio itself sent nonsense). Every answer must be a 4xx, or TwiML that parses (empty for
status callbacks); unsigned requests and requests for another call must leave every row as it
was; whatever a signed request for the live call stores must still be a valid answer.
"""

from __future__ import annotations

import logging
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from twilio.request_validator import RequestValidator

from ivr.db import session_scope
from ivr.domain.rounds import start_manual_round
from ivr.worker.dialer import queue_checkin_now
from storage import Answer, CallAttempt, CallEvent, CheckIn, Community, Escalation
from tests.conftest import AUTH_TOKEN
from tests.helpers import add_resident, script

BASE = "http://localhost"
SID = "CA" + "2" * 32
PHONE = "+8613803710101"
TWIML_ENDPOINTS = ("answer", "gather?t=0", "gather?t=1", "gather?t=2", "dial?t=1", "gather")
FIELDS = [
    "CallSid",
    "AccountSid",
    "From",
    "To",
    "CallStatus",
    "ApiVersion",
    "Direction",
    "Digits",
    "FinishedOnKey",
    "SequenceNumber",
    "CallDuration",
    "AnsweredBy",
    "DialCallStatus",
    "DialCallDuration",
    "Timestamp",
    "Body",
    "MessageSid",
]

FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

values = st.one_of(
    st.text(max_size=40),
    st.text(alphabet="0123456789*#", max_size=40),
    st.sampled_from(
        [
            "completed",
            "busy",
            "in-progress",
            "no-answer",
            "ringing",
            "initiated",
            "failed",
            "canceled",
            "machine_start",
            "human",
            "-1",
            "99999999999999",
            "365",
            "1",
            SID,
            "CA" + "f" * 32,
            PHONE,
            "anonymous",
            "",
        ]
    ),
    st.text(min_size=100, max_size=3000),
)
forms = st.dictionaries(
    st.one_of(st.sampled_from(FIELDS), st.text(max_size=12)), values, max_size=10
)


def sign(url: str, form: Mapping[str, str]) -> str:
    return RequestValidator(AUTH_TOKEN).compute_signature(url, dict(form))


@pytest.fixture
def live_call(app: Flask, clock) -> str:
    """A resident in the middle of a call (greeting answered), as the carrier sees it."""
    add_resident(app, "王秀英", PHONE)
    with session_scope(app) as session:
        community = session.scalars(select(Community)).one()
        community.duty_phone = "+8613803719999"  # a transfer (``dial``) has somewhere to go
        start_manual_round(session, community, app.extensions["pingan.settings"], clock.now())
        attempt = queue_checkin_now(session, session.scalars(select(CheckIn)).one(), clock.now())
        assert attempt is not None
        attempt.state, attempt.call_sid, attempt.placed_at = "placed", SID, clock.now()
        return attempt.code


def snapshot(app: Flask) -> tuple[Any, ...]:
    """Everything a webhook could change, row by row."""
    with session_scope(app) as session:
        return tuple(
            sorted(
                tuple((column.key, repr(getattr(row, column.key))) for column in model.__table__.c)
                for row in session.scalars(select(model))
            )
            for model in (Answer, CheckIn, Escalation, CallAttempt, CallEvent)
        )


def check_reply(response: Any, status_callback: bool) -> None:
    assert response.status_code < 500, response.data[:300]
    if response.status_code >= 400:
        return
    if status_callback:
        assert response.data == b""
    else:
        root = ET.fromstring(response.data)
        assert root.tag == "Response"


def check_answers_valid(app: Flask) -> None:
    """Whatever a signed request stored is something a keypad could have said."""
    with session_scope(app) as session:
        for key, value in session.execute(select(Answer.key, Answer.value)):
            assert key in {"temperature_c", "symptoms", "needs", "callback"}, key
            if key == "temperature_c":
                assert Decimal("34.0") <= Decimal(str(value)) <= Decimal("42.0")
        for checkin in session.scalars(select(CheckIn)):
            if checkin.temperature_c is not None:
                assert Decimal("34.0") <= checkin.temperature_c <= Decimal("42.0")


def post(client: FlaskClient, path: str, form: Mapping[str, str], **headers: str) -> Any:
    return client.post(path, data=dict(form), headers=headers)


@FUZZ
@given(
    form=forms,
    endpoint=st.sampled_from([*TWIML_ENDPOINTS, "status"]),
    signature=st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=40),
)
def test_unsigned_or_forged_requests_change_nothing(
    app, live_call, endpoint: str, form: dict[str, str], signature: str
) -> None:
    client = app.test_client()
    before = snapshot(app)
    headers = {"X-Twilio-Signature": signature} if signature else {}
    response = post(client, f"/voice/{live_call}/{endpoint}", form, **headers)
    assert response.status_code == 403
    assert snapshot(app) == before


@FUZZ
@given(
    form=forms,
    endpoint=st.sampled_from([*TWIML_ENDPOINTS, "status", "incoming", "incoming/status", "sms"]),
    turn=st.one_of(st.none(), st.text(max_size=12)),
)
def test_signed_nonsense_never_breaks_a_webhook(
    app, live_call, endpoint: str, form: dict[str, str], turn: str | None, caplog
) -> None:
    """As if Twilio itself sent garbage: a 4xx or a sensible answer, and only valid answers."""
    client = app.test_client()
    paths = {
        "incoming": "/voice/incoming",
        "incoming/status": "/voice/incoming/status",
        "sms": "/sms/incoming",
    }
    path = paths.get(endpoint, f"/voice/{live_call}/{endpoint}")
    if turn is not None and endpoint.startswith(("gather", "dial")):
        path = path.split("?")[0] + "?" + urlencode({"t": turn})
    response = post(client, path, form, **{"X-Twilio-Signature": sign(BASE + path, form)})
    check_reply(response, status_callback=endpoint.endswith("status"))
    check_answers_valid(app)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


@FUZZ
@given(
    form=forms,
    endpoint=st.sampled_from([*TWIML_ENDPOINTS, "status"]),
    code=st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEF0123456789-_", min_size=1, max_size=60),
)
def test_a_signed_request_for_an_unknown_call_or_another_call_sid_changes_nothing(
    app, live_call, endpoint: str, form: dict[str, str], code: str
) -> None:
    client = app.test_client()
    before = snapshot(app)
    unknown = f"/voice/{code}/{endpoint}"
    other_call = f"/voice/{live_call}/{endpoint}"
    elsewhere = {**form, "CallSid": "CA" + "9" * 32}
    for path, sent in ((unknown, form), (other_call, elsewhere)):
        response = post(client, path, sent, **{"X-Twilio-Signature": sign(BASE + path, sent)})
        check_reply(response, status_callback=endpoint == "status")
    assert snapshot(app) == before


@FUZZ
@given(
    body=st.binary(max_size=2000),
    content_type=st.sampled_from(
        [
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=x",
            "text/plain",
            "application/json",
            "application/x-www-form-urlencoded; charset=latin-1",
            "",
        ]
    ),
)
def test_raw_bytes_of_any_encoding_are_refused_or_answered(
    app, live_call, body: bytes, content_type: str
) -> None:
    client = app.test_client()
    before = snapshot(app)
    for endpoint in ("answer", "gather?t=0", "status"):
        path = f"/voice/{live_call}/{endpoint}"
        response = client.post(
            path,
            data=body,
            content_type=content_type,
            headers={"X-Twilio-Signature": sign(BASE + path, {})},
        )
        check_reply(response, status_callback=endpoint == "status")
    assert snapshot(app) == before


def test_a_body_over_the_size_limit_is_refused_with_413(app, live_call) -> None:
    before = snapshot(app)
    path = f"/voice/{live_call}/gather?t=0"
    huge = urlencode({"CallSid": SID, "Digits": "1", "Padding": "x" * (2 * 1024 * 1024)})
    response = app.test_client().post(
        path,
        data=huge,
        content_type="application/x-www-form-urlencoded",
        headers={"X-Twilio-Signature": "anything"},
    )
    assert response.status_code == 413
    assert snapshot(app) == before


def test_non_utf8_form_bytes_are_refused_and_change_nothing(app, live_call) -> None:
    before = snapshot(app)
    path = f"/voice/{live_call}/gather?t=0"
    response = app.test_client().post(
        path,
        data=b"CallSid=" + SID.encode() + b"&Digits=\xff\xfe1",
        content_type="application/x-www-form-urlencoded",
        headers={"X-Twilio-Signature": sign(BASE + path, {"CallSid": SID, "Digits": "1"})},
    )
    assert response.status_code == 403
    assert snapshot(app) == before


def test_replaying_every_request_of_a_finished_call_changes_nothing(
    app, jobs, carrier, clock
) -> None:
    """Record a whole real call from the simulator, then post all of it again, signed."""
    add_resident(app, "王秀英", PHONE)
    script(carrier, PHONE, "answer 1 385# 1 1 2 9")
    jobs.start_rounds()
    jobs.dial()
    assert carrier.wait_idle(30)
    record = next(iter(carrier.records.values()))
    before = snapshot(app)
    assert any(row for row in before[2])  # the fever opened an escalation
    client = app.test_client()
    exchanges = [(e.url, e.params) for e in record.requests]
    exchanges += [(record_url, params) for record_url, params in _status_callbacks(record)]
    for url, params in exchanges:  # signed for the URL the carrier used, as Twilio signs
        path = "/" + url.split("://", 1)[1].split("/", 1)[1]
        response = post(client, path, params, **{"X-Twilio-Signature": sign(url, params)})
        check_reply(response, status_callback=path.split("?")[0].endswith("status"))
    assert snapshot(app) == before


def _status_callbacks(record: Any) -> list[tuple[str, dict[str, str]]]:
    url = next(e.url for e in record.requests).rsplit("/", 1)[0] + "/status"
    return [(url, params) for params in record.status_callbacks]
