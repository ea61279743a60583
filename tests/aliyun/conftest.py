"""The app with PINGAN_CARRIER=aliyun, its SDK pointed at the local Alibaba Cloud simulator."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest

from ivr.carriers.aliyun.carrier import AliyunCarrier
from ivr.carriers.aliyun.simulator import AliyunSimulator
from ivr.carriers.aliyun.sms import AliyunSms
from ivr.carriers.aliyun.sms_simulator import SAMPLE_CODES, AliyunSmsSimulator
from ivr.clock import FixedClock

KEY_ID, KEY_SECRET = "LTAI5tPinganTestKey", "pingan-test-access-key-secret"
CALLBACK_SECRET = "vms-callback-secret-0123456789"
CALLER_ID = "+8637165000000"  # the number bought in the VMS console (Zhengzhou, 0371)
SIGN_NAME = "中原社区"  # the approved SMS signature
TEMPLATES = SAMPLE_CODES  # Pingan's templates, approved under these codes


@pytest.fixture
def platform() -> Iterator[AliyunSimulator]:
    simulated = AliyunSimulator(KEY_ID, KEY_SECRET, CALLER_ID)
    yield simulated
    simulated.close()


@pytest.fixture
def sms_platform() -> Iterator[AliyunSmsSimulator]:
    simulated = AliyunSmsSimulator(KEY_ID, KEY_SECRET, SIGN_NAME, TEMPLATES)
    yield simulated
    simulated.close()


@pytest.fixture
def carrier(
    platform: AliyunSimulator, sms_platform: AliyunSmsSimulator, clock: FixedClock
) -> AliyunCarrier:
    sms = AliyunSms(KEY_ID, KEY_SECRET, sms_platform.url, SIGN_NAME, TEMPLATES)
    return AliyunCarrier(KEY_ID, KEY_SECRET, platform.url, clock=clock, sms=sms)


@pytest.fixture
def settings_overrides(
    platform: AliyunSimulator, sms_platform: AliyunSmsSimulator
) -> dict[str, Any]:
    return {
        "aliyun_sms_endpoint": sms_platform.url,
        "aliyun_sms_sign_name": SIGN_NAME,
        **{f"aliyun_sms_template_{kind}": code for kind, code in TEMPLATES.items()},
        "carrier": "aliyun",
        "aliyun_access_key_id": KEY_ID,
        "aliyun_access_key_secret": KEY_SECRET,
        "aliyun_endpoint": platform.url,
        "aliyun_callback_secret": CALLBACK_SECRET,
        "caller_id": CALLER_ID,
        "call_window": (dt.time(0), dt.time.max),  # the tests must pass at any hour
    }


@pytest.fixture
def server(
    server: str, platform: AliyunSimulator, sms_platform: AliyunSmsSimulator
) -> Iterator[str]:
    """The URLs entered in the VMS and SMS consoles once the app can be reached."""
    platform.callback_url = f"{server}/aliyun/{CALLBACK_SECRET}/callback"
    platform.receipt_url = f"{server}/aliyun/{CALLBACK_SECRET}/receipt"
    sms_platform.report_url = f"{server}/aliyun/{CALLBACK_SECRET}/sms-report"
    yield server
    sms_platform.wait_idle()  # no report may still be on its way while the app shuts down
