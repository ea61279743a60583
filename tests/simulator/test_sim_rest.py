"""The REST front end driven by the official twilio SDK, as TwilioCarrier drives Twilio."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import requests
from standin_app import ACCOUNT_SID, APP_NUMBER, AUTH_TOKEN, ELDER, StandIn
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client
from twilio.twiml.voice_response import VoiceResponse

from ivr.carriers.simulator import SimulatedCarrier, serve_rest
from ivr.carriers.telephony import CarrierError, ErrorKind, OutboundCall, TextMessage, TwilioCarrier

for variable in ("TWILIO_EDGE", "TWILIO_REGION"):  # the SDK would rewrite the simulator's host
    os.environ.pop(variable, None)


@pytest.fixture
def base_url(carrier: SimulatedCarrier) -> Iterator[str]:
    server, url = serve_rest(carrier)
    yield url
    server.stop()


@pytest.fixture
def client(base_url: str) -> Client:
    sdk = Client(ACCOUNT_SID, AUTH_TOKEN)
    sdk.api.base_url = base_url
    return sdk


@pytest.fixture
def voice(standin: StandIn) -> str:
    response = VoiceResponse()
    response.gather(action="/answer", num_digits=1).say("请按1", language="cmn-CN")
    standin.twiml("/voice", response)
    standin.twiml("/answer", VoiceResponse())
    return standin.url("/voice")


def test_create_fetch_and_list_calls(
    client: Client, carrier: SimulatedCarrier, standin: StandIn, voice: str
) -> None:
    created = client.calls.create(
        to=ELDER,
        from_=APP_NUMBER,
        url=voice,
        status_callback=standin.url("/status"),
        status_callback_event=["initiated", "answered", "completed"],
        timeout=30,
        machine_detection="Enable",
    )
    assert created.status == "queued" and created.direction == "outbound-api"
    assert created.sid.startswith("CA") and created.account_sid == ACCOUNT_SID
    assert carrier.wait_idle(10)

    fetched = client.calls(created.sid).fetch()
    assert (fetched.status, fetched.answered_by, fetched.to) == ("completed", "human", ELDER)
    assert int(fetched.duration) > 0 and fetched.end_time is not None
    record = carrier.record(created.sid)
    assert record.callback_statuses() == ["initiated", "in-progress", "completed"]
    assert record.submitted_digits() == ["1"]

    listed = client.calls.list(to=ELDER)
    assert [call.sid for call in listed] == [created.sid]
    assert client.calls.list(to="+8613900000000") == []


def test_list_follows_pages(client: Client, carrier: SimulatedCarrier, voice: str) -> None:
    sids = {client.calls.create(to=ELDER, from_=APP_NUMBER, url=voice).sid for _ in range(5)}
    assert carrier.wait_idle(10)
    assert {call.sid for call in client.calls.list(page_size=2)} == sids


def test_updating_an_ended_call_is_refused(
    client: Client, carrier: SimulatedCarrier, voice: str
) -> None:
    sid = client.calls.create(to=ELDER, from_=APP_NUMBER, url=voice).sid
    assert carrier.wait_idle(10)
    with pytest.raises(TwilioRestException) as caught:
        client.calls(sid).update(status="completed")
    assert (caught.value.status, caught.value.code) == (400, 21220)


def test_send_sms(client: Client, carrier: SimulatedCarrier) -> None:
    message = client.messages.create(to=ELDER, from_=APP_NUMBER, body="平安提醒")
    assert message.sid.startswith("SM") and message.status == "queued"
    assert message.body == "平安提醒"
    assert [(m.sid, m.to, m.body) for m in carrier.messages] == [(message.sid, ELDER, "平安提醒")]


@pytest.mark.parametrize(
    ("spec", "status", "code"),
    [
        ("reject:21211", 400, 21211),
        ("reject:20429", 429, 20429),
        ("reject:20003", 401, 20003),
        ("reject:500", 500, 20500),
    ],
)
def test_scripted_refusals_reach_the_sdk(
    client: Client, carrier: SimulatedCarrier, voice: str, spec: str, status: int, code: int
) -> None:
    carrier.script(ELDER, spec)
    with pytest.raises(TwilioRestException) as caught:
        client.calls.create(to=ELDER, from_=APP_NUMBER, url=voice)
    assert (caught.value.status, caught.value.code) == (status, code)
    assert caught.value.msg.startswith("Unable to create record: ")


def test_bad_number_and_unknown_call(client: Client) -> None:
    with pytest.raises(TwilioRestException) as bad:
        client.calls.create(to="12345", from_=APP_NUMBER, url="http://127.0.0.1:9/voice")
    assert (bad.value.status, bad.value.code) == (400, 21211)
    assert "12345 is not a valid phone number" in bad.value.msg
    with pytest.raises(TwilioRestException) as missing:
        client.calls("CA" + "0" * 32).fetch()
    assert (missing.value.status, missing.value.code) == (404, 20404)


def test_wrong_credentials_get_20003(base_url: str) -> None:
    wrong = Client(ACCOUNT_SID, "wrong-token")
    wrong.api.base_url = base_url
    with pytest.raises(TwilioRestException) as caught:
        wrong.calls.create(to=ELDER, from_=APP_NUMBER, url="http://127.0.0.1:9/voice")
    assert (caught.value.status, caught.value.code) == (401, 20003)


def test_error_body_has_exactly_twilio_legacy_keys(base_url: str) -> None:
    answer = requests.get(
        f"{base_url}/2010-04-01/Accounts/{ACCOUNT_SID}/Calls.json",
        auth=(ACCOUNT_SID, "nope"),
        timeout=5,
    )
    assert answer.status_code == 401
    assert answer.json() == {
        "code": 20003,
        "message": "Authenticate",
        "status": 401,
        "more_info": "https://www.twilio.com/docs/errors/20003",
    }


def test_twilio_carrier_runs_against_the_simulator(
    base_url: str, carrier: SimulatedCarrier, standin: StandIn, voice: str
) -> None:
    real = TwilioCarrier(ACCOUNT_SID, AUTH_TOKEN, api_base=base_url)
    sid = real.place_call(
        OutboundCall(to=ELDER, from_=APP_NUMBER, url=voice, status_callback=standin.url("/status"))
    )
    assert carrier.wait_idle(10)
    assert real.fetch_call(sid).status == "completed"
    assert carrier.record(sid).callback_statuses() == [
        "initiated",
        "ringing",
        "in-progress",
        "completed",
    ]
    carrier.script(ELDER, "reject:21215")
    with pytest.raises(CarrierError) as caught:
        real.place_call(
            OutboundCall(
                to=ELDER, from_=APP_NUMBER, url=voice, status_callback=standin.url("/status")
            )
        )
    assert (caught.value.kind, caught.value.code) == (ErrorKind.BAD_NUMBER, 21215)
    assert real.send_sms(ELDER, APP_NUMBER, TextMessage("hi")).startswith("SM")


def test_twilio_carrier_keeps_its_endpoint_when_the_sdk_region_variables_are_set(
    base_url: str, carrier: SimulatedCarrier, standin: StandIn, voice: str, monkeypatch
) -> None:
    monkeypatch.setenv("TWILIO_REGION", "au1")
    monkeypatch.setenv("TWILIO_EDGE", "sydney")
    real = TwilioCarrier(ACCOUNT_SID, AUTH_TOKEN, api_base=base_url)
    call = OutboundCall(to=ELDER, from_=APP_NUMBER, url=voice, status_callback=standin.url("/s"))
    sid = real.place_call(call)
    assert carrier.wait_idle(10)
    assert real.fetch_call(sid).status == "completed"


def test_twilio_carrier_asks_for_detection_that_waits_for_the_voicemail_beep(
    base_url: str, carrier: SimulatedCarrier, standin: StandIn, voice: str
) -> None:
    real = TwilioCarrier(ACCOUNT_SID, AUTH_TOKEN, api_base=base_url)
    carrier.script(ELDER, "machine")
    call = OutboundCall(
        to=ELDER,
        from_=APP_NUMBER,
        url=voice,
        status_callback=standin.url("/status"),
        machine_detection=True,
    )
    sid = real.place_call(call)
    assert carrier.wait_idle(10)
    assert carrier.record(sid).answered_by == "machine_end_beep"  # DetectMessageEnd
