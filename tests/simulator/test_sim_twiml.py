"""The strict TwiML reader and the Gather key rules, without any HTTP."""

from __future__ import annotations

import pytest
from twilio.twiml.voice_response import VoiceResponse

from ivr.carriers.simulator import TwimlError, collect_dtmf, parse, read_reply
from ivr.carriers.simulator.twiml import Dial, Gather, Hangup, Pause, Play, Redirect, Reject, Say

DOC = "https://app.example/ivr/start?checkin=7"


def test_sdk_document_parses_with_defaults_and_resolved_urls() -> None:
    response = VoiceResponse()
    gather = response.gather(
        action="/ivr/answer?c=1&lang=zh", num_digits=1, timeout=10, action_on_empty_result=True
    )
    gather.say("您好，如果您一切安好，请按1。", language="cmn-CN", voice="Polly.Zhiyu-Neural")
    gather.pause(length=2)
    response.say("We did not receive any input.")
    response.redirect("retry?attempt=2", method="GET")
    response.hangup()

    document = parse(str(response), DOC)

    assert document.warnings == ()
    gather_verb, say, redirect, hangup = document.verbs
    assert gather_verb == Gather(
        action="https://app.example/ivr/answer?c=1&lang=zh",
        num_digits=1,
        timeout_s=10,
        action_on_empty_result=True,
        prompts=(Say("您好，如果您一切安好，请按1。", "Polly.Zhiyu-Neural", "cmn-CN"), Pause(2)),
    )
    assert say == Say("We did not receive any input.")
    assert redirect == Redirect("https://app.example/ivr/retry?attempt=2", "GET")
    assert hangup == Hangup()


def test_gather_without_action_posts_back_to_the_document() -> None:
    (gather,) = parse("<Response><Gather><Say>x</Say></Gather></Response>", DOC).verbs
    assert isinstance(gather, Gather)
    assert (gather.action, gather.method, gather.finish_on_key, gather.timeout_s) == (
        DOC,
        "POST",
        "#",
        5,
    )
    assert gather.num_digits is None and not gather.action_on_empty_result


def test_ssml_is_flattened_and_sub_speaks_its_alias() -> None:
    response = VoiceResponse()
    say = response.say(language="cmn-CN")
    say.prosody("请您慢慢听，", rate="80%")
    say.break_(time="1s")
    say.say_as("36.5", interpret_as="cardinal")
    say.sub("℃", alias="度")
    (verb,) = parse(str(response), DOC).verbs
    assert verb == Say("请您慢慢听，36.5度", language="cmn-CN")


def test_dial_reads_number_noun_or_text() -> None:
    response = VoiceResponse()
    response.dial(action="/dial-done", timeout=20, caller_id="+8675512345678").number(
        "+8613900000000"
    )
    response.dial("+8613911111111")
    first, second = parse(str(response), DOC).verbs
    assert first == Dial(
        "+8613900000000", "https://app.example/dial-done", "POST", 20, "+8675512345678"
    )
    assert second == Dial("+8613911111111")


def test_play_and_reject() -> None:
    verbs = parse(
        '<Response><Play loop="2">/a.mp3</Play><Play digits="1w2"/>'
        '<Reject reason="busy"/></Response>',
        DOC,
    ).verbs
    assert verbs == (
        Play("https://app.example/a.mp3", loop=2),
        Play(None, digits="1w2"),
        Reject("busy"),
    )


def test_unknown_attribute_is_only_a_warning() -> None:
    document = parse('<Response><Gather numdigits="1"/></Response>', DOC)
    assert document.warnings == ("12200 <Gather> has an unknown attribute 'numdigits'",)


@pytest.mark.parametrize(
    ("xml", "code", "complaint"),
    [
        ("<Response><Say>hi</Say>", 12100, "parse failure"),
        ("", 12100, "parse failure"),
        ("<Reply><Say>hi</Say></Reply>", 12100, "root element is <Reply>"),
        ("<Response><Speak>hi</Speak></Response>", 12200, "<Speak> is not a TwiML voice verb"),
        (
            "<Response><Gather><Dial>+8613900000000</Dial></Gather></Response>",
            12200,
            "<Dial> is not allowed inside <Gather>",
        ),
        (
            "<Response><Gather><Gather/></Gather></Response>",
            12200,
            "<Gather> is not allowed inside <Gather>",
        ),
        (
            "<Response><Say>hi <Play>x.mp3</Play></Say></Response>",
            12200,
            "<Play> is not allowed inside <Say>",
        ),
        ("<Response>hello</Response>", 12200, "cannot contain text"),
        ("<Response><Gather numDigits='one'/></Response>", 12200, "must be a whole number"),
        ("<Response><Gather numDigits='0'/></Response>", 12200, "at least 1"),
        ("<Response><Gather finishOnKey='##'/></Response>", 12200, "must be one key"),
        ("<Response><Gather input='touch'/></Response>", 12200, "must be dtmf, speech"),
        ("<Response><Gather actionOnEmptyResult='yes'/></Response>", 12200, "true, false"),
        ("<Response><Redirect method='PUT'>/x</Redirect></Response>", 12200, "get, post"),
        ("<Response><Redirect/></Response>", 12200, "<Redirect> needs a URL"),
        ("<Response><Play/></Response>", 12200, "<Play> needs a media URL"),
        ("<Response><Dial><Say>x</Say></Dial></Response>", 12200, "<Say> is not allowed inside"),
        ("<Response><Dial/></Response>", 12200, "nothing to dial"),
        ("<Response><Hangup>now</Hangup></Response>", 12200, "cannot contain text"),
        ("<Response><Reject reason='tired'/></Response>", 12200, "rejected, busy"),
    ],
)
def test_what_twilio_rejects_is_rejected(xml: str, code: int, complaint: str) -> None:
    with pytest.raises(TwimlError) as caught:
        parse(xml, DOC)
    assert caught.value.code == code
    assert complaint in caught.value.message
    assert caught.value.url == DOC


@pytest.mark.parametrize("content_type", ["text/xml", "application/xml", "text/html"])
def test_twiml_content_types(content_type: str) -> None:
    document = read_reply(content_type, b"<Response><Hangup/></Response>", DOC)
    assert document.verbs == (Hangup(),)


def test_plain_text_is_twiml_if_it_parses_else_read_aloud() -> None:
    assert read_reply("text/plain", b"<Response><Hangup/></Response>", DOC).verbs == (Hangup(),)
    spoken = read_reply("text/plain", "系统维护中".encode(), DOC)
    assert spoken.verbs == (Say("系统维护中"), Hangup())
    assert spoken.warnings and spoken.warnings[0].startswith("12300")


def test_audio_answer_is_played_then_hung_up() -> None:
    assert read_reply("audio/mpeg", b"ID3", DOC).verbs == (Play(DOC, fetched=True), Hangup())


@pytest.mark.parametrize("content_type", ["application/json", ""])
def test_other_content_types_are_error_12300(content_type: str) -> None:
    with pytest.raises(TwimlError) as caught:
        read_reply(content_type, b"<Response/>", DOC)
    assert caught.value.code == 12300


@pytest.mark.parametrize(
    ("keys", "options", "expected"),
    [
        ("1", {"num_digits": 1}, ("1", "", "num_digits")),
        ("365#", {}, ("365", "#", "finish_key")),
        ("12", {}, ("12", "", "timeout")),  # partial digits are submitted on timeout
        ("#", {}, ("", "#", "finish_key")),  # '#' first is no input
        ("", {}, ("", "", "timeout")),
        ("1#", {"finish_on_key": ""}, ("1#", "", "timeout")),  # no finish key: '#' is a digit
        ("*", {"num_digits": 1}, ("*", "", "num_digits")),
        ("*9#", {"finish_on_key": "*"}, ("", "*", "finish_key")),
        ("375", {"num_digits": 1}, ("3", "", "num_digits")),  # later keys are lost
    ],
)
def test_collect_dtmf(keys: str, options: dict[str, object], expected: tuple[str, ...]) -> None:
    result = collect_dtmf(keys, **options)  # type: ignore[arg-type]
    assert (result.digits, result.finished_on_key, result.ended) == expected


def test_collect_dtmf_timing() -> None:
    assert collect_dtmf("", timeout_s=10).seconds == 10
    assert collect_dtmf("12", timeout_s=5).seconds > 5  # waits timeout after the last key
    assert collect_dtmf("1#").seconds < 5
