"""An operator switching to Alibaba Cloud is told at start-up what is missing."""

from __future__ import annotations

import pytest

from ivr.config import ConfigError, load_settings

READY = {
    "PINGAN_CARRIER": "aliyun",
    "ALIBABA_CLOUD_ACCESS_KEY_ID": "LTAI-test-key",
    "ALIBABA_CLOUD_ACCESS_KEY_SECRET": "test-secret",
    "PINGAN_ALIYUN_CALLBACK_SECRET": "callback-secret-0123456789",
    "PINGAN_CALLER_ID": "+8637165000000",
    "PINGAN_ALIYUN_SMS_SIGN_NAME": "中原社区",
    "PINGAN_ALIYUN_SMS_TEMPLATE_OPENED": "SMS_480100001",
    "PINGAN_ALIYUN_SMS_TEMPLATE_REMINDER": "SMS_480100002",
    "PINGAN_ALIYUN_SMS_TEMPLATE_FAMILY": "SMS_480100003",
    "PINGAN_ALIYUN_SMS_TEMPLATE_RECOVERED": "SMS_480100004",
    "PINGAN_ALIYUN_SMS_TEMPLATE_RELEASE": "SMS_480100005",
    "PINGAN_ALIYUN_SMS_TEMPLATE_ORDER": "SMS_480100006",
}


def test_an_operator_can_choose_alibaba_cloud() -> None:
    settings = load_settings(READY)
    assert settings.carrier == "aliyun"
    assert settings.aliyun_endpoint == "https://dyvmsapi.aliyuncs.com"


@pytest.mark.parametrize(
    "missing",
    [
        "ALIBABA_CLOUD_ACCESS_KEY_ID",
        "PINGAN_ALIYUN_CALLBACK_SECRET",
        "PINGAN_ALIYUN_SMS_SIGN_NAME",
        "PINGAN_ALIYUN_SMS_TEMPLATE_RECOVERED",
        "PINGAN_ALIYUN_SMS_TEMPLATE_RELEASE",
        "PINGAN_ALIYUN_SMS_TEMPLATE_ORDER",
    ],
)
def test_a_missing_credential_stops_start_up(missing: str) -> None:
    environ = {k: v for k, v in READY.items() if k != missing}
    with pytest.raises(ConfigError, match=f"PINGAN_CARRIER=aliyun needs {missing}"):
        load_settings(environ)


def test_a_caller_id_outside_mainland_china_stops_start_up() -> None:
    with pytest.raises(ConfigError, match="mainland number you bought"):
        load_settings({**READY, "PINGAN_CALLER_ID": "+85230000000"})


def test_a_guessable_callback_secret_is_refused() -> None:
    with pytest.raises(ConfigError, match="PINGAN_ALIYUN_CALLBACK_SECRET"):
        load_settings({**READY, "PINGAN_ALIYUN_CALLBACK_SECRET": "short"})


def test_every_kind_of_text_needs_its_approved_template_code() -> None:
    settings = load_settings(READY)
    assert settings.sms_templates == {
        "opened": "SMS_480100001",
        "reminder": "SMS_480100002",
        "family": "SMS_480100003",
        "recovered": "SMS_480100004",
        "release": "SMS_480100005",
        "order": "SMS_480100006",
    }
    assert settings.aliyun_sms_endpoint == "https://dysmsapi.aliyuncs.com"
    with pytest.raises(ConfigError, match="PINGAN_ALIYUN_SMS_TEMPLATE_OPENED"):
        load_settings({**READY, "PINGAN_ALIYUN_SMS_TEMPLATE_OPENED": "紧急预警模板"})
