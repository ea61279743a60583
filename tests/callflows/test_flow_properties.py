"""Whatever a caller keys, and whenever they hang up, the call behaves."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from callflows import HangUp, Keys, Silence, advance, load_flow, start

FLOW = load_flow()
KEY_ENTRIES = st.one_of(
    st.text(alphabet="0123456789*#", min_size=0, max_size=5),
    st.sampled_from(["1", "2", "9", "0", "365", "37", "385", "8", "*"]),
)
EVENTS = st.lists(
    st.one_of(KEY_ENTRIES.map(lambda d: Keys(d) if d else Silence()), st.just(Silence())),
    max_size=80,
)


@settings(max_examples=400, deadline=None)
@given(events=EVENTS, hang_up_at=st.none() | st.integers(min_value=0, max_value=80))
def test_any_key_sequence_never_raises_and_never_stores_an_impossible_temperature(
    events: list[Keys | Silence], hang_up_at: int | None
) -> None:
    transition = start(FLOW)
    for index, event in enumerate(events):
        if transition.ended:
            break
        if hang_up_at == index:
            transition = advance(FLOW, transition.state, HangUp())
            break
        transition = advance(FLOW, transition.state, event)
        for answer in transition.answers:
            if answer.key == "temperature_c":
                assert Decimal("34.0") <= Decimal(answer.value) <= Decimal("42.0")
    # Once the caller stops keying, silence alone must bring every call to an end.
    for _ in range(FLOW.max_turns + 10):
        if transition.ended:
            break
        transition = advance(FLOW, transition.state, Silence())
    assert transition.ended
