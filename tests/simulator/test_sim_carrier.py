"""The Carrier protocol as the dialer uses it: placing, refusing, settling, texting."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator, Mapping

import pytest
from flask import Response
from standin_app import ACCOUNT_SID, APP_NUMBER, AUTH_TOKEN, ELDER, StandIn
from twilio.twiml.voice_response import VoiceResponse

from ivr.carriers.simulator import Behaviour, CallRequest, SimulatedCarrier
from ivr.carriers.telephony import CarrierError, ErrorKind, OutboundCall, TextMessage

SID = re.compile(r"CA[0-9a-f]{32}")


def outbound(standin: StandIn, to: str = ELDER, **fields: object) -> OutboundCall:
    return OutboundCall(
        to=to,
        from_=APP_NUMBER,
        url=standin.url("/voice"),
        status_callback=standin.url("/status"),
        **fields,
    )  # type: ignore[arg-type]


def goodbye() -> VoiceResponse:
    response = VoiceResponse()
    response.say("再见", language="cmn-CN")
    return response


@pytest.fixture
def gate(standin: StandIn) -> Iterator[threading.Event]:
    """/voice blocks until the test opens the gate, holding its call in progress."""
    opened = threading.Event()

    def wait(_params: Mapping[str, str]) -> Response:
        opened.wait(10)
        return Response(str(goodbye()), mimetype="text/xml")

    standin.on("/voice", wait)
    yield opened
    opened.set()


def test_place_call_returns_at_once_and_the_call_runs(
    carrier: SimulatedCarrier, standin: StandIn
) -> None:
    standin.twiml("/voice", goodbye())
    sid = carrier.place_call(outbound(standin))
    assert SID.fullmatch(sid)
    assert carrier.wait_idle(10)
    info = carrier.fetch_call(sid)
    assert (info.sid, info.status, info.answered_by) == (sid, "completed", None)
    assert info.duration_s == carrier.record(sid).duration_s > 0
    assert carrier.record(sid).callback_statuses() == [  # OutboundCall subscribes to all four
        "initiated",
        "ringing",
        "in-progress",
        "completed",
    ]
    assert len(carrier.create_times) == 1
    assert carrier.calls_to(ELDER) == [carrier.record(sid)]


def test_fetch_call_reports_machine_detection_and_unanswered_calls(
    carrier: SimulatedCarrier, standin: StandIn
) -> None:
    standin.twiml("/voice", goodbye())
    carrier.script(ELDER, "machine", "busy")
    machine = carrier.place_call(outbound(standin, machine_detection=True))
    busy = carrier.place_call(outbound(standin))
    assert carrier.wait_idle(10)
    assert carrier.fetch_call(machine).answered_by == "machine_end_beep"
    assert carrier.fetch_call(busy).status == "busy"
    assert carrier.fetch_call(busy).duration_s is None


def test_fetch_unknown_call(carrier: SimulatedCarrier) -> None:
    with pytest.raises(CarrierError) as caught:
        carrier.fetch_call("CA" + "0" * 32)
    assert (caught.value.kind, caught.value.code, caught.value.status) == (
        ErrorKind.REJECTED,
        20404,
        404,
    )


@pytest.mark.parametrize(
    ("spec", "kind", "code", "status"),
    [
        ("reject:21211", ErrorKind.BAD_NUMBER, 21211, 400),
        ("reject:21215", ErrorKind.BAD_NUMBER, 21215, 400),
        ("reject:20429", ErrorKind.TRANSIENT, 20429, 429),
        ("reject:429", ErrorKind.TRANSIENT, 20429, 429),
        ("reject:20003", ErrorKind.AUTH, 20003, 401),
        ("reject:500", ErrorKind.TRANSIENT, 20500, 500),
        ("reject:502", ErrorKind.TRANSIENT, 502, 502),
        ("reject:21210", ErrorKind.REJECTED, 21210, 400),
    ],
)
def test_scripted_refusals(
    carrier: SimulatedCarrier, standin: StandIn, spec: str, kind: ErrorKind, code: int, status: int
) -> None:
    carrier.script(ELDER, spec)
    with pytest.raises(CarrierError) as caught:
        carrier.place_call(outbound(standin))
    assert (caught.value.kind, caught.value.code, caught.value.status) == (kind, code, status)
    assert carrier.records == {} and carrier.create_times == []


@pytest.mark.parametrize(
    ("to", "from_", "url", "kind", "code"),
    [
        ("", APP_NUMBER, "http://127.0.0.1:9/voice", ErrorKind.REJECTED, 21201),
        ("13800138000", APP_NUMBER, "http://127.0.0.1:9/voice", ErrorKind.BAD_NUMBER, 21211),
        ("+86 138 0013 8000", APP_NUMBER, "http://127.0.0.1:9/voice", ErrorKind.BAD_NUMBER, 21211),
        (ELDER, "", "http://127.0.0.1:9/voice", ErrorKind.REJECTED, 21213),
        (ELDER, "Pingan", "http://127.0.0.1:9/voice", ErrorKind.REJECTED, 21212),
        (ELDER, APP_NUMBER, "", ErrorKind.REJECTED, 21205),
        (ELDER, APP_NUMBER, "/voice", ErrorKind.REJECTED, 21205),
    ],
)
def test_create_requests_are_validated_like_twilio(
    carrier: SimulatedCarrier, to: str, from_: str, url: str, kind: ErrorKind, code: int
) -> None:
    with pytest.raises(CarrierError) as caught:
        carrier.create_call(CallRequest(to=to, from_=from_, url=url))
    assert (caught.value.kind, caught.value.code) == (kind, code)


def test_scripts_are_consumed_per_call_and_the_last_repeats(
    carrier: SimulatedCarrier, standin: StandIn
) -> None:
    standin.twiml("/voice", goodbye())
    carrier.script(ELDER, "reject:20429", "busy", Behaviour.parse("answer"))
    with pytest.raises(CarrierError):
        carrier.place_call(outbound(standin))
    sids = [carrier.place_call(outbound(standin)) for _ in range(3)]
    other = carrier.place_call(outbound(standin, to="+8613911112222"))
    assert carrier.wait_idle(10)
    assert [carrier.fetch_call(s).status for s in sids] == ["busy", "completed", "completed"]
    assert carrier.record(other).behaviour == "answer 1 365# 1 2 9"  # the default behaviour


def test_many_calls_run_concurrently(carrier: SimulatedCarrier, standin: StandIn) -> None:
    standin.twiml("/voice", goodbye())
    phones = [f"+86139000000{n:02d}" for n in range(30)]
    sids = [carrier.place_call(outbound(standin, to=phone)) for phone in phones]
    assert carrier.wait_idle(20)
    assert {carrier.fetch_call(sid).status for sid in sids} == {"completed"}
    assert carrier.create_times == sorted(carrier.create_times)


def test_a_live_call_shows_in_progress_and_can_be_hung_up(
    carrier: SimulatedCarrier, standin: StandIn, gate: threading.Event
) -> None:
    sid = carrier.place_call(outbound(standin))
    assert not carrier.wait_idle(0.3)
    assert carrier.fetch_call(sid).status == "in-progress"
    assert carrier.update_call(sid, "canceled").status == "in-progress"  # no effect when live
    carrier.update_call(sid, "completed")
    gate.set()
    assert carrier.wait_idle(10)
    record = carrier.record(sid)
    assert (record.status, record.ended_by, record.heard) == (
        "completed",
        "hung up by a REST update",
        [],
    )
    with pytest.raises(CarrierError) as caught:
        carrier.update_call(sid, "completed")
    assert caught.value.code == 21220


def test_a_queued_call_can_be_canceled_silently(standin: StandIn, gate: threading.Event) -> None:
    with SimulatedCarrier(AUTH_TOKEN, ACCOUNT_SID, max_workers=1, china_vetted=True) as narrow:
        first = narrow.place_call(outbound(standin))
        second = narrow.place_call(outbound(standin, to="+8613911112222"))
        assert narrow.fetch_call(second).status == "queued"
        assert narrow.update_call(second, "canceled").status == "canceled"
        gate.set()
        assert narrow.wait_idle(10)
        assert narrow.fetch_call(first).status == "completed"
        assert narrow.record(second).status_callbacks == []  # Twilio reports nothing


def test_send_sms(carrier: SimulatedCarrier) -> None:
    sid = carrier.send_sms(ELDER, APP_NUMBER, TextMessage("平安提醒：今天请测量体温。"))
    assert re.fullmatch(r"SM[0-9a-f]{32}", sid)
    (message,) = carrier.messages
    assert (message.sid, message.to, message.body, message.extra) == (
        sid,
        ELDER,
        "平安提醒：今天请测量体温。",
        {"from": APP_NUMBER},
    )


def test_sms_refusals(carrier: SimulatedCarrier) -> None:
    with pytest.raises(CarrierError) as bad_number:
        carrier.send_sms("138", APP_NUMBER, TextMessage("hi"))
    assert bad_number.value.kind is ErrorKind.BAD_NUMBER
    with pytest.raises(CarrierError) as empty:
        carrier.send_sms(ELDER, APP_NUMBER, TextMessage(""))
    assert empty.value.code == 21602
    carrier.script_sms_failure(ELDER, 20429)
    with pytest.raises(CarrierError) as scripted:
        carrier.send_sms(ELDER, APP_NUMBER, TextMessage("hi"))
    assert scripted.value.kind is ErrorKind.TRANSIENT
    carrier.send_sms(
        ELDER, APP_NUMBER, TextMessage("hi")
    )  # the scripted failure was for one message
    assert len(carrier.messages) == 1


def test_incoming_call(carrier: SimulatedCarrier, standin: StandIn) -> None:
    menu = VoiceResponse()
    menu.gather(action="/menu", num_digits=1).say("请按1报平安", language="cmn-CN")
    standin.twiml("/voice", menu)
    standin.twiml("/menu", goodbye())

    record = carrier.incoming_call(
        ELDER, APP_NUMBER, standin.url("/voice"), "answer 1", status_callback=standin.url("/status")
    )

    first, second = standin.hits_to("/voice")[0], standin.hits_to("/menu")[0]
    assert (first.params["From"], first.params["To"]) == (ELDER, APP_NUMBER)
    assert first.params["Direction"] == "inbound"
    assert first.params["CallStatus"] == "ringing"  # Twilio asks while the phone rings
    assert (second.params["CallStatus"], second.params["Digits"]) == ("in-progress", "1")
    assert record.callback_statuses() == ["completed"]
    assert record.heard_text() == "请按1报平安 再见"
    assert carrier.record(record.sid) is record


@pytest.mark.parametrize(("reason", "status"), [("rejected", "no-answer"), ("busy", "busy")])
def test_incoming_call_rejected(
    carrier: SimulatedCarrier, standin: StandIn, reason: str, status: str
) -> None:
    response = VoiceResponse()
    response.reject(reason=reason)
    standin.twiml("/voice", response)
    record = carrier.incoming_call(ELDER, APP_NUMBER, standin.url("/voice"))
    assert (record.status, record.duration_s, record.warnings) == (status, 0, [])


def test_incoming_call_needs_a_person(carrier: SimulatedCarrier, standin: StandIn) -> None:
    with pytest.raises(ValueError, match="made by a person"):
        carrier.incoming_call(ELDER, APP_NUMBER, standin.url("/voice"), "busy")


def test_incoming_sms(carrier: SimulatedCarrier, standin: StandIn) -> None:
    standin.on(
        "/sms",
        lambda p: Response(
            f"<Response><Message>收到{p['Body']}</Message></Response>", mimetype="text/xml"
        ),
    )
    status, text = carrier.incoming_sms(ELDER, APP_NUMBER, "平安", standin.url("/sms"))
    assert status == 200 and "收到平安" in text
    hit = standin.hits_to("/sms")[0]
    assert hit.signature_valid
    assert hit.params["MessageSid"].startswith("SM")
    assert {
        k: hit.params[k] for k in ("AccountSid", "From", "To", "Body", "NumMedia", "ApiVersion")
    } == {
        "AccountSid": ACCOUNT_SID,
        "From": ELDER,
        "To": APP_NUMBER,
        "Body": "平安",
        "NumMedia": "0",
        "ApiVersion": "2010-04-01",
    }


def test_a_closed_carrier_refuses_calls(standin: StandIn) -> None:
    closed = SimulatedCarrier(AUTH_TOKEN, china_vetted=True)
    closed.close()
    with pytest.raises(CarrierError) as caught:
        closed.place_call(outbound(standin))
    assert caught.value.kind is ErrorKind.TRANSIENT
