"""The news section of the check-in: what the app has for the resident is read before goodbye."""

from __future__ import annotations

from callflows import Answered, HangUp, Keys, NewsItem, Outcome, Silence, advance, load_flow
from tests.callflows.test_checkin_flow import prompts

FLOW = load_flow()
NEWS = [
    NewsItem("notice", {"notice": "明天上午核酸检测"}).dump(),
    NewsItem("order_delivered_yesterday", {"need": "买菜"}).dump(),
]


def to_the_end_of_the_questions(news: list[dict[str, object]]) -> dict[str, object]:
    state = dict(advance(FLOW, {"news": news}, Answered()).state)
    for digits in ("1", "365", "1", "2"):
        state = dict(advance(FLOW, state, Keys(digits)).state)
    return state


def test_the_news_is_read_after_the_questions_and_then_goodbye() -> None:
    state = to_the_end_of_the_questions(NEWS)
    heard = advance(FLOW, state, Keys("9"))
    assert prompts(heard) == ["notice", "order_delivered_yesterday", "news_more"]
    assert heard.actions[-1].prompts[0].args == {"notice": "明天上午核酸检测"}  # type: ignore[union-attr]
    assert prompts(advance(FLOW, heard.state, Keys("1"))) == ["goodbye", "<hangup>"]


def test_star_reads_it_all_again() -> None:
    heard = advance(FLOW, to_the_end_of_the_questions(NEWS), Keys("9"))
    again = advance(FLOW, heard.state, Keys("*"))
    assert prompts(again) == ["notice", "order_delivered_yesterday", "news_more"]


def test_silence_after_the_news_says_goodbye_rather_than_reading_it_again() -> None:
    heard = advance(FLOW, to_the_end_of_the_questions(NEWS), Keys("9"))
    assert prompts(advance(FLOW, heard.state, Silence())) == ["goodbye", "<hangup>"]


def test_with_no_news_the_call_goes_straight_to_goodbye() -> None:
    state = to_the_end_of_the_questions([])
    assert prompts(advance(FLOW, state, Keys("9"))) == ["goodbye", "<hangup>"]


def test_a_malformed_news_item_is_read_as_what_it_names_and_never_breaks_the_state() -> None:
    state = to_the_end_of_the_questions([{"prompt": "release_today", "args": None}])
    assert prompts(advance(FLOW, state, Keys("9"))) == ["release_today", "news_more"]


def test_hanging_up_during_the_news_ends_a_finished_call() -> None:
    heard = advance(FLOW, to_the_end_of_the_questions(NEWS), Keys("9"))
    assert advance(FLOW, heard.state, HangUp()).outcome is Outcome.FINISHED
