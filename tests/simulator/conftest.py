"""Fixtures for the simulator tests: the stand-in webhook app and a carrier calling it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from standin_app import ACCOUNT_SID, ALL_EVENTS, APP_NUMBER, AUTH_TOKEN, ELDER, StandIn

from ivr.carriers.simulator import CallRecord, CallRequest, SimulatedCarrier, WsgiServer


@pytest.fixture(scope="session")
def _standin_server() -> Iterator[StandIn]:
    standin = StandIn(AUTH_TOKEN)
    with WsgiServer(standin.app) as server:
        standin.base_url = server.base_url
        yield standin


@pytest.fixture
def standin(_standin_server: StandIn) -> StandIn:
    _standin_server.reset()
    return _standin_server


@pytest.fixture
def carrier() -> Iterator[SimulatedCarrier]:
    with SimulatedCarrier(AUTH_TOKEN, ACCOUNT_SID, max_workers=8, china_vetted=True) as simulated:
        yield simulated


@pytest.fixture
def dial(carrier: SimulatedCarrier, standin: StandIn) -> Callable[..., CallRecord]:
    """Place one call to ELDER with the given behaviour, wait for it to end, return its record."""

    def place(
        behaviour: str = "answer",
        *,
        events: tuple[str, ...] = ALL_EVENTS,
        url_path: str = "/voice",
        **overrides: Any,
    ) -> CallRecord:
        carrier.script(ELDER, behaviour)
        sid = carrier.create_call(
            CallRequest(
                to=ELDER,
                from_=APP_NUMBER,
                url=standin.url(url_path),
                status_callback=standin.url("/status"),
                status_callback_events=events,
                **overrides,
            )
        )
        assert carrier.wait_idle(10)
        return carrier.record(sid)

    return place
