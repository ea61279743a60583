"""Whole calls against the stand-in app over real HTTP: what Twilio sends and how it reacts."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Callable, Mapping
from email.utils import parsedate_to_datetime

import pytest
import requests
from flask import Response, redirect
from standin_app import ACCOUNT_SID, APP_NUMBER, AUTH_TOKEN, ELDER, StandIn
from twilio.twiml.voice_response import VoiceResponse

from ivr.carriers.simulator import CallRecord, CallRequest, SimulatedCarrier
from ivr.carriers.simulator.engine import APPLICATION_ERROR, REQUEST_LIMIT_ERROR

Dial = Callable[..., CallRecord]
READ_BACK = {"365": "三十六点五度", "375": "三十七点五度"}


def ask_ok(action: str = "/answer", **gather: object) -> VoiceResponse:
    response = VoiceResponse()
    prompt = response.gather(action=action, **gather)
    prompt.say("您好，如果您一切安好，请按1。", language="cmn-CN")
    response.say("我们没有听到您的回答。", language="cmn-CN")
    return response


def say(text: str, hang_up: bool = True) -> VoiceResponse:
    response = VoiceResponse()
    response.say(text, language="cmn-CN")
    if hang_up:
        response.hangup()
    return response


def read_back(params: Mapping[str, str]) -> VoiceResponse:
    return say(f"您的体温是{READ_BACK.get(params['Digits'], params['Digits'])}")


# --- signing and parameters --------------------------------------------------------------------


def test_every_request_is_signed_and_shaped_like_twilio(standin: StandIn, dial: Dial) -> None:
    standin.twiml("/voice", ask_ok(num_digits=1))
    standin.on("/answer", read_back)

    record = dial("answer 1")

    assert [hit.path for hit in standin.hits] == ["/status"] * 3 + ["/voice", "/answer", "/status"]
    for hit in standin.hits:
        assert hit.signature_valid
        assert hit.method == "POST"
        assert hit.headers["User-Agent"] == "TwilioProxy/1.1"
        assert hit.headers["Content-Type"] == "application/x-www-form-urlencoded"
        uuid.UUID(hit.headers["I-Twilio-Idempotency-Token"])
    voice = standin.hits_to("/voice")[0].params
    assert voice == {
        "CallSid": record.sid,
        "AccountSid": ACCOUNT_SID,
        "From": APP_NUMBER,
        "To": ELDER,
        "Caller": APP_NUMBER,
        "Called": ELDER,
        "CallStatus": "in-progress",
        "ApiVersion": "2010-04-01",
        "Direction": "outbound-api",
    }


def test_a_forged_signature_is_refused_by_the_app(standin: StandIn) -> None:
    standin.twiml("/voice", say("hi"))
    answer = requests.post(
        standin.url("/voice"),
        data={"CallSid": "CA1"},
        headers={"X-Twilio-Signature": "Zm9yZ2Vk"},
        timeout=5,
    )
    assert answer.status_code == 403
    assert not standin.hits[-1].signature_valid


def test_a_wrong_auth_token_fails_like_twilio_would(standin: StandIn) -> None:
    standin.twiml("/voice", say("hi"))
    with SimulatedCarrier("not-the-token", ACCOUNT_SID, china_vetted=True) as wrong:
        sid = wrong.create_call(CallRequest(to=ELDER, from_=APP_NUMBER, url=standin.url("/voice")))
        assert wrong.wait_idle(10)
        record = wrong.record(sid)
    assert record.error_codes() == [11200]
    assert record.heard_text() == APPLICATION_ERROR
    assert record.status == "completed"


def test_get_requests_sign_the_query(standin: StandIn, dial: Dial) -> None:
    standin.twiml("/voice", ask_ok(method="GET", num_digits=1))
    standin.on("/answer", read_back)
    record = dial("answer 1", method="GET", status_callback_method="GET")
    assert all(hit.signature_valid and hit.method == "GET" for hit in standin.hits)
    assert standin.hits_to("/answer")[0].params["Digits"] == "1"
    assert "Timestamp" in standin.hits_to("/status")[0].params  # %2C and %3A in the signed query
    assert record.errors == []


@pytest.mark.parametrize(("code", "method"), [(307, "POST"), (302, "GET")])
def test_http_redirects_are_followed_and_signed_again(
    standin: StandIn, dial: Dial, code: int, method: str
) -> None:
    standin.on("/voice", lambda _p: redirect(standin.url("/moved"), code))
    standin.twiml("/moved", say("搬家了"))
    record = dial("answer")
    moved = standin.hits_to("/moved")[0]
    assert (moved.method, moved.signature_valid) == (method, True)
    assert record.heard_text() == "搬家了"


def test_connection_overrides_are_neither_sent_nor_signed(standin: StandIn, dial: Dial) -> None:
    standin.twiml("/voice", say("hi"))
    record = dial("answer", url_path="/voice#rc=3&ct=1000")
    assert standin.hits_to("/voice")[0].signature_valid
    assert record.errors == []


# --- status callbacks --------------------------------------------------------------------------


def test_human_call_status_callbacks(standin: StandIn, dial: Dial) -> None:
    standin.twiml("/voice", ask_ok(num_digits=1))
    standin.on("/answer", read_back)

    record = dial("answer 1")

    callbacks = [hit.params for hit in standin.hits_to("/status")]
    assert callbacks == record.status_callbacks
    assert record.callback_statuses() == ["initiated", "ringing", "in-progress", "completed"]
    assert [c["SequenceNumber"] for c in callbacks] == ["0", "1", "2", "3"]
    for params in callbacks:
        assert params["CallbackSource"] == "call-progress-events"
        assert params["ApiVersion"] == "2010-04-01"
        assert parsedate_to_datetime(params["Timestamp"]).utcoffset() is not None
    completed = callbacks[-1]
    assert completed["SipResponseCode"] == "200"
    assert int(completed["CallDuration"]) == record.duration_s > 0
    assert completed["Duration"] == "1"
    assert "AnsweredBy" not in completed
    assert "CallDuration" not in callbacks[0]
    assert record.status == "completed" and record.ended_by == "hangup"


def test_only_completed_is_reported_by_default(standin: StandIn, dial: Dial) -> None:
    standin.twiml("/voice", say("hi"))
    record = dial("answer", events=("completed",))
    assert record.callback_statuses() == ["completed"]
    assert record.status_callbacks[0]["SequenceNumber"] == "0"


@pytest.mark.parametrize(
    ("behaviour", "statuses", "sip"),
    [
        ("busy", ["initiated", "ringing", "busy"], "486"),
        ("no-answer", ["initiated", "ringing", "no-answer"], "487"),
        ("failed", ["initiated", "failed"], "404"),
        ("canceled", ["initiated", "ringing", "canceled"], "487"),
    ],
)
def test_unanswered_calls(
    standin: StandIn, dial: Dial, behaviour: str, statuses: list[str], sip: str
) -> None:
    standin.twiml("/voice", say("hi"))
    record = dial(behaviour)
    assert record.callback_statuses() == statuses
    final = record.status_callbacks[-1]
    assert (final["SipResponseCode"], final["CallDuration"], final["Duration"]) == (sip, "0", "0")
    assert record.status == statuses[-1] and record.duration_s == 0
    assert standin.hits_to("/voice") == [] and record.requests == []


# --- Gather ------------------------------------------------------------------------------------


def test_gather_submits_digits(standin: StandIn, dial: Dial) -> None:
    standin.twiml("/voice", ask_ok(num_digits=1))
    standin.on("/answer", read_back)
    record = dial("answer 1")
    params = standin.hits_to("/answer")[0].params
    assert (params["Digits"], params["FinishedOnKey"], params["msg"]) == ("1", "", "Gather End")
    assert record.gathers == [("1", "")]
    assert record.heard_text().startswith("您好，如果您一切安好，请按1。")


def test_finish_key_ends_a_multi_digit_entry(standin: StandIn, dial: Dial) -> None:
    standin.twiml("/voice", ask_ok(action="/temperature", timeout=10))
    standin.on("/temperature", read_back)
    record = dial("answer 365#")
    params = standin.hits_to("/temperature")[0].params
    assert (params["Digits"], params["FinishedOnKey"]) == ("365", "#")
    assert "您的体温是三十六点五度" in record.heard_text()
    assert record.submitted_digits() == ["365"]


def test_star_and_partial_entries(standin: StandIn, dial: Dial) -> None:
    standin.twiml("/voice", ask_ok(action="/first", num_digits=1))
    standin.twiml("/first", ask_ok(action="/second"))
    standin.on("/second", read_back)
    record = dial("answer * 375")
    assert record.submitted_digits() == ["*", "375"]
    assert record.gathers[1] == ("375", "")  # no '#': submitted when the timeout ran out
    assert "三十七点五度" in record.heard_text()


def test_silence_with_action_on_empty_result_requests_the_action(
    standin: StandIn, dial: Dial
) -> None:
    standin.twiml("/voice", ask_ok(num_digits=1, action_on_empty_result=True))
    standin.on("/answer", lambda p: say("空" if p["Digits"] == "" else "有"))
    record = dial("answer -")
    assert standin.hits_to("/answer")[0].params["Digits"] == ""
    assert record.heard_text().endswith("空")


def test_silence_without_it_falls_through_to_the_next_verb(standin: StandIn, dial: Dial) -> None:
    document = ask_ok(num_digits=1)
    document.redirect("/again")
    standin.twiml("/voice", document)
    standin.twiml("/again", ask_ok(num_digits=1))
    standin.on("/answer", read_back)
    record = dial("answer - 1")
    assert standin.hits_to("/answer")[0].params["Digits"] == "1"
    assert [r.url.rsplit("/", 1)[1] for r in record.requests] == ["voice", "again", "answer"]
    assert "我们没有听到您的回答。" in record.heard_text()


def test_hanging_up_during_a_gather_and_running_out_of_script(standin: StandIn, dial: Dial) -> None:
    standin.twiml("/voice", ask_ok(num_digits=1))
    standin.twiml("/answer", ask_ok(action="/more", num_digits=1))
    hung_up = dial("answer hangup")
    ran_out = dial("answer 1")
    for record in (hung_up, ran_out):
        assert record.status == "completed"
        assert record.ended_by == "hung up during a gather"
    assert (hung_up.gathers, ran_out.gathers) == ([], [("1", "")])
    assert standin.hits_to("/more") == []


# --- other verbs -------------------------------------------------------------------------------


def test_redirect_resolves_relative_urls(standin: StandIn, dial: Dial) -> None:
    response = VoiceResponse()
    response.redirect("step/two?x=1")
    standin.twiml("/flow/one", response)
    standin.twiml("/flow/step/two", say("到了"))
    record = dial("answer", url_path="/flow/one")
    assert record.requests[-1].url == standin.url("/flow/step/two?x=1")
    assert record.heard_text() == "到了"


@pytest.mark.parametrize(
    ("behaviour", "status", "duration", "bridged"),
    [
        ("answer 0 dial=completed:75", "completed", "75", "true"),
        ("answer 0 dial=no-answer", "no-answer", "0", "false"),
        ("answer 0 dial=busy", "busy", "0", "false"),
    ],
)
def test_dial_reports_to_its_action(
    standin: StandIn, dial: Dial, behaviour: str, status: str, duration: str, bridged: str
) -> None:
    standin.twiml("/voice", ask_ok(action="/transfer", num_digits=1))
    transfer = VoiceResponse()
    transfer.dial(action="/dial-done", timeout=20, caller_id=APP_NUMBER).number("+8613900000000")
    transfer.say("不会说到这里")
    standin.twiml("/transfer", transfer)
    standin.on("/dial-done", lambda p: say(f"通话结果{p['DialCallStatus']}"))
    record = dial(behaviour)
    params = standin.hits_to("/dial-done")[0].params
    assert params["DialCallStatus"] == status
    assert (params["DialCallDuration"], params["DialBridged"]) == (duration, bridged)
    assert params["DialCallSid"].startswith("CA") and len(params["DialCallSid"]) == 34
    assert record.dials[0].number == "+8613900000000"
    assert "不会说到这里" not in record.heard_text()


def test_dial_without_action_continues_with_the_next_verb(standin: StandIn, dial: Dial) -> None:
    response = VoiceResponse()
    response.dial("+8613900000000")
    response.say("转接结束")
    standin.twiml("/voice", response)
    record = dial("answer dial=completed")
    assert record.heard_text() == "转接结束"
    assert record.duration_s >= 60  # the staff conversation counts towards the call


def test_hangup_ends_the_call_and_later_verbs_are_unreachable(standin: StandIn, dial: Dial) -> None:
    response = say("再见")
    response.say("听不到")
    standin.twiml("/voice", response)
    record = dial("answer")
    assert record.heard_text() == "再见"
    assert record.ended_by == "hangup"


def test_end_of_document_hangs_up(standin: StandIn, dial: Dial) -> None:
    standin.twiml("/voice", say("谢谢", hang_up=False))
    record = dial("answer")
    assert (record.ended_by, record.status) == ("end of document", "completed")


def test_reject_in_an_answered_call_is_a_hangup_with_a_warning(
    standin: StandIn, dial: Dial
) -> None:
    response = VoiceResponse()
    response.reject()
    standin.twiml("/voice", response)
    record = dial("answer")
    assert record.status == "completed"
    assert record.warnings == ["<Reject> in an answered call is treated as <Hangup>"]


def test_play_fetches_signed_audio(standin: StandIn, dial: Dial) -> None:
    response = VoiceResponse()
    response.play("/media/hello.mp3")
    standin.twiml("/voice", response)
    standin.on("/media/hello.mp3", lambda _p: Response(b"ID3", mimetype="audio/mpeg"))
    record = dial("answer")
    media = standin.hits_to("/media/hello.mp3")[0]
    assert media.method == "GET" and media.signature_valid
    assert record.played == [standin.url("/media/hello.mp3")] and record.errors == []


def test_cookies_persist_within_a_call(standin: StandIn, dial: Dial) -> None:
    def set_cookie(_params: Mapping[str, str]) -> Response:
        answer = Response(str(ask_ok(num_digits=1)), mimetype="text/xml")
        answer.set_cookie("session", "abc")
        return answer

    standin.on("/voice", set_cookie)
    standin.on("/answer", read_back)
    dial("answer 1")
    assert "session=abc" in standin.hits_to("/answer")[0].headers.get("Cookie", "")


def test_time_limit_ends_a_long_call(standin: StandIn, dial: Dial) -> None:
    response = VoiceResponse()
    response.say("很长的一段话。" * 20)
    response.say("时间到了以后听不到")
    standin.twiml("/voice", response)
    record = dial("answer", time_limit_s=10)
    assert record.ended_by == "time limit reached"
    assert record.duration_s == 10


# --- answering machines ------------------------------------------------------------------------


def test_voicemail_without_detection_just_listens(standin: StandIn, dial: Dial) -> None:
    standin.twiml("/voice", ask_ok(num_digits=1))
    record = dial("machine")
    assert "AnsweredBy" not in standin.hits_to("/voice")[0].params
    assert record.gathers[0] == ("", "") and record.answered_by is None
    assert standin.hits_to("/answer") == []
    assert record.status == "completed"  # an answered, billed call as far as Twilio knows


@pytest.mark.parametrize(
    ("behaviour", "mode", "answered_by"),
    [
        ("machine", "Enable", "machine_start"),
        ("machine", "DetectMessageEnd", "machine_end_beep"),
        ("answer 1", "Enable", "human"),
    ],
)
def test_machine_detection_reports_answered_by(
    standin: StandIn, dial: Dial, behaviour: str, mode: str, answered_by: str
) -> None:
    standin.twiml("/voice", say("hi"))
    record = dial(behaviour, machine_detection=mode)
    assert standin.hits_to("/voice")[0].params["AnsweredBy"] == answered_by
    assert record.status_callbacks[-1]["AnsweredBy"] == answered_by
    assert record.answered_by == answered_by


# --- what Twilio rejects -----------------------------------------------------------------------


def xml(body: str, content_type: str = "text/xml", status: int = 200) -> Response:
    return Response(body, status=status, content_type=content_type)


BAD_ANSWERS = {
    "bad root": (xml("<Reply><Say>hi</Say></Reply>"), 12100),
    "unparsable": (xml("<Response><Say>hi</Response>"), 12100),
    "unknown verb": (xml("<Response><Speak>hi</Speak></Response>"), 12200),
    "dial in gather": (
        xml("<Response><Gather><Dial>+8613900000000</Dial></Gather></Response>"),
        12200,
    ),
    "server error": (xml("<Response/>", status=500), 11200),
    "not found": (xml("<Response/>", status=404), 11200),
    "json": (xml('{"say": "hi"}', content_type="application/json"), 12300),
}


@pytest.mark.parametrize("case", list(BAD_ANSWERS))
def test_bad_answers_end_in_an_application_error(standin: StandIn, dial: Dial, case: str) -> None:
    answer, code = BAD_ANSWERS[case]
    standin.on("/voice", lambda _p: answer)
    record = dial("answer 1")
    assert record.errors[0].code == code
    assert record.errors[0].message.endswith(f"({standin.url('/voice')})")
    assert record.heard_text() == APPLICATION_ERROR
    assert (record.ended_by, record.status) == ("application error", "completed")
    assert record.callback_statuses()[-1] == "completed"


def test_bad_answer_goes_to_the_fallback_url(standin: StandIn, dial: Dial) -> None:
    standin.on("/voice", lambda _p: xml("<Response><Speak/></Response>"))
    standin.twiml("/fallback", say("系统繁忙，请稍后再试"))
    record = dial("answer", fallback_url=standin.url("/fallback"))
    params = standin.hits_to("/fallback")[0].params
    assert (params["ErrorCode"], params["ErrorUrl"]) == ("12200", standin.url("/voice"))
    assert record.heard_text() == "系统繁忙，请稍后再试"
    assert record.error_codes() == [12200]


def test_a_failing_fallback_is_an_application_error(standin: StandIn, dial: Dial) -> None:
    standin.on("/voice", lambda _p: xml("", status=503))
    standin.on("/fallback", lambda _p: xml("", status=503))
    record = dial("answer", fallback_url=standin.url("/fallback"))
    assert record.error_codes() == [11200, 11200]
    assert record.heard_text() == APPLICATION_ERROR


@pytest.mark.parametrize(
    ("media", "code"),
    [
        (xml("", status=404), 11200),
        (xml("<html/>", content_type="text/html"), 12300),
    ],
)
def test_unplayable_media_is_an_error(
    standin: StandIn, dial: Dial, media: Response, code: int
) -> None:
    response = VoiceResponse()
    response.play("/media/missing.mp3")
    standin.twiml("/voice", response)
    standin.on("/media/missing.mp3", lambda _p: media)
    record = dial("answer")
    assert record.errors[0].code == code
    assert standin.url("/media/missing.mp3") in record.errors[0].message
    assert record.heard_text() == APPLICATION_ERROR


def test_plain_text_answer_is_read_aloud(standin: StandIn, dial: Dial) -> None:
    standin.on("/voice", lambda _p: xml("Internal error", content_type="text/plain"))
    record = dial("answer")
    assert record.heard_text() == "Internal error" and record.errors == []
    assert record.warnings[0].startswith("12300")


def test_an_unreachable_app_is_a_connection_failure(carrier: SimulatedCarrier) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sid = carrier.create_call(
        CallRequest(to=ELDER, from_=APP_NUMBER, url=f"http://127.0.0.1:{port}/voice")
    )
    assert carrier.wait_idle(10)
    record = carrier.record(sid)
    assert record.error_codes() == [11205]
    assert record.requests[0].status is None


def test_a_looping_app_is_stopped(standin: StandIn) -> None:
    response = VoiceResponse()
    response.redirect("/voice")
    standin.twiml("/voice", response)
    with SimulatedCarrier(AUTH_TOKEN, ACCOUNT_SID, max_requests=15, china_vetted=True) as looping:
        sid = looping.create_call(
            CallRequest(to=ELDER, from_=APP_NUMBER, url=standin.url("/voice"))
        )
        assert looping.wait_idle(10)
        record = looping.record(sid)
    assert len(record.requests) == 15
    assert record.error_codes() == [REQUEST_LIMIT_ERROR]
    assert record.ended_by == "request limit"


# --- callback faults ---------------------------------------------------------------------------


def test_duplicate_status_repeats_each_callback_with_its_token(
    standin: StandIn, dial: Dial
) -> None:
    standin.twiml("/voice", say("hi"))
    record = dial("answer faults=duplicate_status")
    hits = standin.hits_to("/status")
    assert [h.params["SequenceNumber"] for h in hits] == ["0", "0", "1", "1", "2", "2", "3", "3"]
    tokens = [h.headers["I-Twilio-Idempotency-Token"] for h in hits]
    assert tokens[0] == tokens[1] and tokens[0] != tokens[2]
    assert len(record.status_callbacks) == 8


def test_reorder_status_delivers_out_of_order_after_the_call(standin: StandIn, dial: Dial) -> None:
    standin.twiml("/voice", say("hi"))
    dial("answer faults=reorder_status")
    paths = [hit.path for hit in standin.hits]
    assert paths == ["/voice"] + ["/status"] * 4  # held back until the call ended
    sequence = [hit.params["SequenceNumber"] for hit in standin.hits_to("/status")]
    assert sorted(sequence) == ["0", "1", "2", "3"] and sequence != sorted(sequence)


def test_drop_status_and_drop_completed(standin: StandIn, dial: Dial) -> None:
    standin.twiml("/voice", say("hi"))
    dropped = dial("answer faults=drop_status")
    assert standin.hits_to("/status") == [] and dropped.status_callbacks == []
    lost_final = dial("answer faults=drop_completed")
    assert lost_final.callback_statuses() == ["initiated", "ringing", "in-progress"]
    assert lost_final.status == "completed"  # the carrier still knows; fetch_call settles it
