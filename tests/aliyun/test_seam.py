"""The Alibaba Cloud SDK stays behind the carrier seam, and its refusals mean what they say."""

from __future__ import annotations

from pathlib import Path

import pytest

from ivr.carriers.aliyun.actions import Cursor, speakable
from ivr.carriers.aliyun.carrier import AliyunCarrier, error_kind
from ivr.carriers.aliyun.simulator import AliyunSimulator
from ivr.carriers.telephony import CarrierError, ErrorKind, OutboundCall
from tests.aliyun.conftest import CALLER_ID, KEY_ID, KEY_SECRET
from tests.callflows.test_callflows_are_pure import imported_modules

ROOT = Path(__file__).parents[2]
SDK = (
    "alibabacloud_dyvmsapi20170525",
    "alibabacloud_dysmsapi20170525",
    "alibabacloud_tea_openapi",
    "darabonba",
    "Tea",
)


def test_only_the_aliyun_carrier_modules_import_the_sdks() -> None:
    importers = sorted(
        str(path.relative_to(ROOT))
        for package in ("ivr", "callflows", "storage")
        for path in (ROOT / package).rglob("*.py")
        if any(m.split(".")[0] in SDK for m in imported_modules(path))
    )
    assert importers == ["ivr/carriers/aliyun/carrier.py", "ivr/carriers/aliyun/sms.py"]


def call(to: str = "+8613803710101", from_: str = CALLER_ID) -> OutboundCall:
    return OutboundCall(to, from_, "http://x/voice/abcdefghijklmnopqrstuvwx/answer", "")


@pytest.mark.parametrize(
    ("key_id", "secret", "code"),
    [
        ("LTAI-someone-else", KEY_SECRET, "InvalidAccessKeyId.NotFound"),
        (KEY_ID, "a-leaked-old-secret", "SignatureDoesNotMatch"),
    ],
)
def test_wrong_credentials_stop_dialing(key_id: str, secret: str, code: str) -> None:
    platform = AliyunSimulator(KEY_ID, KEY_SECRET, CALLER_ID)
    try:
        with pytest.raises(CarrierError) as refused:
            AliyunCarrier(key_id, secret, platform.url).place_call(call())
    finally:
        platform.close()
    assert refused.value.kind == ErrorKind.AUTH and code in str(refused.value)
    assert platform.calls_to("+8613803710101") == []


def test_a_caller_number_that_is_not_ours_is_refused_without_a_call() -> None:
    platform = AliyunSimulator(KEY_ID, KEY_SECRET, CALLER_ID)
    try:
        with pytest.raises(CarrierError) as refused:
            AliyunCarrier(KEY_ID, KEY_SECRET, platform.url).place_call(call(from_="+8637100000001"))
    finally:
        platform.close()
    assert refused.value.kind == ErrorKind.REJECTED and "isv.BILLID_NOT_EXIST" in str(refused.value)


def test_an_unreachable_platform_is_tried_again_later() -> None:
    with pytest.raises(CarrierError) as refused:
        AliyunCarrier(KEY_ID, KEY_SECRET, "http://127.0.0.1:9", timeout_s=2).place_call(call())
    assert refused.value.kind == ErrorKind.TRANSIENT


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        ("isv.BUSINESS_LIMIT_CONTROL", ErrorKind.TRANSIENT),
        ("Throttling.User", ErrorKind.TRANSIENT),
        ("isv.MOBILE_NUMBER_ILLEGAL", ErrorKind.BAD_NUMBER),
        ("SignatureDoesNotMatch", ErrorKind.AUTH),
        ("isv.AMOUNT_NOT_ENOUGH", ErrorKind.REJECTED),
    ],
)
def test_platform_codes_map_to_what_the_dialer_does(code: str, kind: ErrorKind) -> None:
    assert error_kind(code, 400) == kind


def test_prompt_text_never_carries_a_character_smartcall_forbids() -> None:
    said = speakable('按*重听，费用¥5，比例=1:2，"注意"{提示}^@$')
    assert not set(said) & set('@=:"${}^*¥')
    assert "星号" in said and "元" in said


def test_an_entry_is_keyed_by_twilios_gather_rules() -> None:
    cursor = Cursor("abcdefghijklmnopqrstuvwx", "3", None, "#")
    for key in "372":
        cursor, entry = cursor.press(key)
        assert entry is None
    assert Cursor.parse(str(cursor)) == cursor  # what comes back in dynamic_id
    _, entry = cursor.press("#")
    assert entry is not None and entry.digits == "372"
    _, single = Cursor("abcdefghijklmnopqrstuvwx", "1", 1).press("*")
    assert single is not None and single.digits == "*"
