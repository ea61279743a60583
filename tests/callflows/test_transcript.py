"""``flow show`` and ``flow try`` without a terminal: the transcript and a keyed run-through."""

from __future__ import annotations

from callflows import BUILTIN_FLOW, load_flow
from callflows.transcript import describe
from callflows.trial import Trial

FLOW = load_flow()
MEDICINE = load_flow(BUILTIN_FLOW.parent / "examples" / "checkin_with_medicine.toml")


def test_the_transcript_shows_every_step_its_words_and_where_each_key_leads() -> None:
    text = describe(FLOW, "zh-CN")
    for step in FLOW.steps:
        assert f"[{step}]" in text
    assert '"您好！这里是中原社区的每日健康回访电话。"' in text
    assert '"您输入的是三十六点五度。正确请按1，重新输入请按2。"' in text
    assert "  0 -> [transfer]" in text and "  9 -> done -> [news]" in text
    assert "silence -> asks again (once), then -> [no_response]" in text
    assert "* repeats it; no key for 10 s counts as silence" in text
    assert "symptoms = yes -> symptoms (high)" in text


def test_the_transcript_follows_the_main_line_of_the_call() -> None:
    text = describe(FLOW, "en")
    order = [text.index(f"\n[{name}]") for name in ("greeting", "temperature", "symptoms", "needs")]
    assert order == sorted(order)
    assert "You entered 36.5 degrees." in text


def test_a_custom_question_and_its_escalation_appear_in_the_transcript() -> None:
    text = describe(MEDICINE, "en")
    assert "[medicine] asks yes or no, stored as medicine_enough" in text
    assert "medicine_enough = no -> medicine_short (high)" in text


def test_a_trial_speaks_the_words_and_stores_the_answers() -> None:
    trial = Trial(FLOW, "en")
    heard = trial.begin()
    assert heard[0] == "» Hello! This is the daily health check-in call from Zhongyuan Community."
    for line in ("1", "382#", "1", "2", "9"):
        heard += trial.key(line)
    assert (
        "» You entered 38.2 degrees. If that is correct, press 1. To enter it again, press 2."
        in heard
    )
    assert "[escalation: fever (high): 38.2 °C ≥ 37.3 °C]" in heard
    assert heard[-2:] == ["[hangs up]", "[call over: finished]"]
    assert trial.answers == {"temperature_c": "38.2", "symptoms": False}
    assert trial.ended


def test_a_trial_keys_like_a_phone() -> None:
    trial = Trial(FLOW, "zh-CN")
    trial.begin()
    assert trial.key("12")[0].startswith("» 请输入您的体温")  # one key asked: the 2 is lost
    assert trial.key("")[0].startswith("» 请输入您的体温")  # silence: asked again
    trial.key("365#9")  # '#' ends the entry
    assert trial.key("hangup") == [  # keyed, never confirmed: kept all the same
        "[stored temperature_c = 36.5 (unconfirmed)]",
        "[call over: hung_up]",
    ]


def test_a_trial_reaches_the_duty_phone_and_records_a_callback_when_nobody_answers() -> None:
    trial = Trial(FLOW, "en")
    trial.begin()
    for line in ("1", "365", "1", "2"):
        trial.key(line)
    assert trial.key("0")[-1].startswith("[connects to the duty phone")
    assert trial.waiting_for == "duty phone"
    heard = trial.key("")
    assert "[stored callback_requested = yes]" in heard
    assert trial.answers["callback_requested"] is True
