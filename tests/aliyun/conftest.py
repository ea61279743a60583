"""The app with PINGAN_CARRIER=aliyun, its SDK pointed at the local Alibaba Cloud simulator."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest

from ivr.aliyun.carrier import AliyunCarrier
from ivr.aliyun.simulator import AliyunSimulator
from ivr.clock import FixedClock

KEY_ID, KEY_SECRET = "LTAI5tPinganTestKey", "pingan-test-access-key-secret"
CALLBACK_SECRET = "vms-callback-secret-0123456789"
CALLER_ID = "+8637165000000"  # the number bought in the VMS console (Zhengzhou, 0371)


@pytest.fixture
def platform() -> Iterator[AliyunSimulator]:
    simulated = AliyunSimulator(KEY_ID, KEY_SECRET, CALLER_ID)
    yield simulated
    simulated.close()


@pytest.fixture
def carrier(platform: AliyunSimulator, clock: FixedClock) -> AliyunCarrier:
    return AliyunCarrier(KEY_ID, KEY_SECRET, platform.url, clock=clock)


@pytest.fixture
def settings_overrides(platform: AliyunSimulator) -> dict[str, Any]:
    return {
        "carrier": "aliyun",
        "aliyun_access_key_id": KEY_ID,
        "aliyun_access_key_secret": KEY_SECRET,
        "aliyun_endpoint": platform.url,
        "aliyun_callback_secret": CALLBACK_SECRET,
        "caller_id": CALLER_ID,
        "call_window": (dt.time(0), dt.time.max),  # the tests must pass at any hour
    }


@pytest.fixture
def server(server: str, platform: AliyunSimulator) -> str:
    """The callback URLs entered in the console once the app can be reached."""
    platform.callback_url = f"{server}/aliyun/{CALLBACK_SECRET}/callback"
    platform.receipt_url = f"{server}/aliyun/{CALLBACK_SECRET}/receipt"
    return server
