"""Settings come from PINGAN_* variables, parsed once; a bad one stops start-up with a sentence."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
from decimal import Decimal

import pytest

from ivr.config import ConfigError, load_settings, parse_duration, parse_window
from tests.processes import PINGAN, free_port


def test_nothing_configured_means_sqlite_and_the_simulator(tmp_path) -> None:
    settings = load_settings({"PINGAN_INSTANCE_PATH": str(tmp_path)})
    assert settings.carrier == "simulator"
    assert settings.database_url == f"sqlite:///{tmp_path / 'pingan.db'}"
    assert settings.timezone == "Asia/Shanghai" and settings.language == "zh-CN"
    assert settings.round_times == (dt.time(9), dt.time(16))
    assert (settings.calls_per_second, settings.max_concurrent_calls) == (1.0, 20)
    assert (settings.retry_delay_s, settings.max_attempts) == (600, 3)
    assert settings.fever_c == Decimal("37.3") and settings.high_fever_c == Decimal("38.5")


def test_a_twilio_account_sid_switches_the_carrier_to_twilio() -> None:
    settings = load_settings(
        {
            "TWILIO_ACCOUNT_SID": "AC" + "0f" * 16,
            "TWILIO_AUTH_TOKEN": "t",
            "PINGAN_PUBLIC_URL": "https://pingan.example.org/",
        }
    )
    assert settings.carrier == "twilio"
    assert settings.public_url == "https://pingan.example.org"


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        (
            {"PINGAN_RETRY_DELAY": "soon"},
            "PINGAN_RETRY_DELAY='soon' is not valid: 'soon' is not a "
            "duration such as 90s, 10m or 1h.",
        ),
        (
            {"PINGAN_TIMEZONE": "Mars/Olympus"},
            "PINGAN_TIMEZONE='Mars/Olympus' is not valid: "
            "'Mars/Olympus' is not a time zone name such as "
            "Asia/Shanghai.",
        ),
        (
            {"PINGAN_CALLS_PER_SECOND": "0"},
            "PINGAN_CALLS_PER_SECOND='0' is not valid: must be above 0.",
        ),
        (
            {"PINGAN_CARRIER": "pigeon"},
            "PINGAN_CARRIER='pigeon' is not valid: "
            "'pigeon' is not one of twilio, aliyun, simulator.",
        ),
        (
            {"PINGAN_CALL_WINDOW": "20:00-08:00"},
            "PINGAN_CALL_WINDOW='20:00-08:00' is not valid: "
            "window '20:00-08:00' ends before it starts.",
        ),
        (
            {"PINGAN_PUBLIC_URL": "pingan.example.org"},
            "PINGAN_PUBLIC_URL='pingan.example.org' "
            "is not valid: 'pingan.example.org' is not "
            "an http(s) URL.",
        ),
        ({"PINGAN_CARRIER": "twilio"}, "PINGAN_CARRIER=twilio needs TWILIO_ACCOUNT_SID to be set."),
        (
            {"PINGAN_DATABASE_URL": "not a url"},
            "PINGAN_DATABASE_URL='not a url' is not valid: it is not a database URL such as "
            "postgresql://host/db.",
        ),
        (
            {"PINGAN_DATABASE_URL": "mysql://pingan@db/pingan"},
            "PINGAN_DATABASE_URL='mysql://pingan@db/pingan' is not valid: Pingan runs on "
            "sqlite:// or postgresql:// databases.",
        ),
        (
            {"PINGAN_CALLER_ID": "0371-65123456"},
            "PINGAN_CALLER_ID='0371-65123456' is not valid: it is not a phone number in E.164 "
            "form such as +8637165123456.",
        ),
        (
            {"TWILIO_ACCOUNT_SID": "SK123"},
            "TWILIO_ACCOUNT_SID='SK123' is not valid: a Twilio account SID is AC followed by 32 "
            "hexadecimal digits.",
        ),
    ],
)
def test_a_malformed_setting_stops_start_up_with_one_sentence(environ, message) -> None:
    with pytest.raises(ConfigError) as raised:
        load_settings(environ)
    assert str(raised.value) == message


def test_durations_and_windows_read_the_way_people_write_them() -> None:
    assert [parse_duration(v) for v in ("90s", "10m", "1h", "2d", "45")] == [
        90,
        600,
        3600,
        172800,
        45,
    ]
    assert parse_window("08:00-24:00") == (dt.time(8), dt.time.max)


def test_overrides_are_typed_values_and_unknown_ones_are_refused() -> None:
    assert load_settings({}, {"calls_per_second": 5.0}).calls_per_second == 5.0
    with pytest.raises(ConfigError, match="unknown settings: colour"):
        load_settings({}, {"colour": "red"})


def test_a_database_that_cannot_be_reached_is_one_sentence_not_a_traceback() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PINGAN_", "TWILIO_"))}
    env["PINGAN_DATABASE_URL"] = f"postgresql://127.0.0.1:{free_port()}/pingan"
    done = subprocess.run([PINGAN, "checkins"], env=env, capture_output=True, text=True)
    assert done.returncode == 1
    assert done.stderr.startswith("Error: cannot reach the database: ")
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1
