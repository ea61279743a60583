"""All configuration: ``PINGAN_*`` environment variables (plus Twilio's two), parsed once.

``SETTINGS`` is the single list of what can be set; the README table is checked against it.
A missing or malformed value stops start-up with one sentence (``ConfigError``).
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError


class ConfigError(ValueError):
    """A setting that cannot be used; the message is one sentence for the operator."""


def parse_duration(raw: str) -> int:
    """``"10m"`` → 600; accepts s, m, h, d suffixes or plain seconds."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*", raw.lower())
    if not match:
        raise ValueError(f"{raw!r} is not a duration such as 90s, 10m or 1h")
    factor = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[match.group(2)]
    return int(float(match.group(1)) * factor)


def parse_bool(raw: str) -> bool:
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off", ""):
        return False
    raise ValueError(f"{raw!r} is not true or false")


def parse_times(raw: str) -> tuple[dt.time, ...]:
    """``"09:00,16:00"`` → two times of day."""
    times = tuple(sorted(dt.time.fromisoformat(part.strip()) for part in raw.split(",") if part))
    if not times:
        raise ValueError("give at least one time such as 09:00")
    return times


def parse_window(raw: str) -> tuple[dt.time, dt.time]:
    """``"08:00-20:00"`` → (start, end); ``24:00`` means the end of the day."""
    start, sep, end = raw.partition("-")
    if not sep:
        raise ValueError(f"{raw!r} is not a window such as 08:00-20:00")
    first = dt.time.fromisoformat(start.strip())
    last = dt.time.max if end.strip() == "24:00" else dt.time.fromisoformat(end.strip())
    if not first < last:
        raise ValueError(f"window {raw!r} ends before it starts")
    return first, last


def _decimal(raw: str) -> Decimal:
    try:
        return Decimal(raw)
    except InvalidOperation:
        raise ValueError(f"{raw!r} is not a number") from None


def _positive_int(raw: str) -> int:
    value = int(raw)
    if value < 1:
        raise ValueError("must be 1 or more")
    return value


def _count(raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{raw!r} is not a whole number") from None
    if value < 0:
        raise ValueError("must be 0 or more")
    return value


def _positive_float(raw: str) -> float:
    value = float(raw)
    if value <= 0:
        raise ValueError("must be above 0")
    return value


def _choice(*options: str) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        if raw not in options:
            raise ValueError(f"{raw!r} is not one of {', '.join(options)}")
        return raw

    return parse


def _timezone(raw: str) -> str:
    try:
        ZoneInfo(raw)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{raw!r} is not a time zone name such as Asia/Shanghai") from None
    return raw


def _region(raw: str) -> str:
    if raw.upper() not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError(f"{raw!r} is not a two-letter region code such as CN")
    return raw.upper()


def _database_url(raw: str) -> str:
    try:
        url = make_url(raw)
    except ArgumentError:
        raise ValueError("it is not a database URL such as postgresql://host/db") from None
    if url.get_backend_name() not in ("sqlite", "postgresql"):
        raise ValueError("Pingan runs on sqlite:// or postgresql:// databases")
    return raw


def _phone(raw: str) -> str:
    if not re.fullmatch(r"\+[1-9]\d{6,14}", raw):
        raise ValueError("it is not a phone number in E.164 form such as +8637165123456")
    return raw


def _account_sid(raw: str) -> str:
    if not re.fullmatch(r"AC[0-9a-fA-F]{32}", raw):
        raise ValueError("a Twilio account SID is AC followed by 32 hexadecimal digits")
    return raw


def _url(raw: str) -> str:
    if not re.match(r"https?://[^/\s]+", raw):
        raise ValueError(f"{raw!r} is not an http(s) URL")
    return raw.rstrip("/")


def _template_code(raw: str) -> str:
    if not re.fullmatch(r"SMS_\d{4,}", raw):
        raise ValueError("an approved SMS template code looks like SMS_123456789")
    return raw


def _callback_secret(raw: str) -> str:
    # It travels in a URL path and is the pushes' only proof of origin (VMS and SMS sign none).
    if not re.fullmatch(r"[A-Za-z0-9_-]{16,128}", raw):
        raise ValueError("use 16 to 128 letters, digits, - or _ (e.g. `openssl rand -hex 24`)")
    return raw


def _bot_token(raw: str) -> str:
    if not re.fullmatch(r"\d{1,20}:[A-Za-z0-9_-]{20,100}", raw):
        raise ValueError("a bot token looks like 123456789:AAE… (ask BotFather)")
    return raw


def _telegram_secret(raw: str) -> str:
    # The characters and length setWebhook accepts for secret_token.
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", raw):
        raise ValueError("use 1 to 256 letters, digits, - or _ (e.g. `openssl rand -hex 24`)")
    return raw


@dataclass(frozen=True)
class Setting:
    env: str
    field: str
    parse: Callable[[str], Any]
    default: str | None
    doc: str


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "PINGAN_DATABASE_URL",
        "database_url",
        _database_url,
        None,
        "SQLAlchemy URL; default an SQLite file `pingan.db` in the instance folder",
    ),
    Setting(
        "PINGAN_INSTANCE_PATH",
        "instance_path",
        str,
        None,
        "folder for the SQLite file and generated secrets; default `./instance`",
    ),
    Setting(
        "PINGAN_PUBLIC_URL",
        "public_url",
        _url,
        None,
        "base URL at which the carrier reaches the webhooks (`https://pingan.example.org`); "
        "the simulator starts an embedded server when unset",
    ),
    Setting(
        "PINGAN_CARRIER",
        "carrier",
        _choice("twilio", "aliyun", "simulator"),
        None,
        "`twilio`, `aliyun` (Alibaba Cloud VMS, for mainland China) or `simulator`; "
        "default `twilio` when `TWILIO_ACCOUNT_SID` is set",
    ),
    Setting(
        "TWILIO_ACCOUNT_SID", "twilio_account_sid", _account_sid, None, "Twilio account SID (AC…)"
    ),
    Setting(
        "TWILIO_AUTH_TOKEN",
        "twilio_auth_token",
        str,
        None,
        "Twilio auth token: signs and verifies every webhook",
    ),
    Setting(
        "PINGAN_TWILIO_API_BASE",
        "twilio_api_base",
        _url,
        "https://api.twilio.com",
        "REST endpoint for every Twilio request (any Twilio-compatible server)",
    ),
    Setting(
        "ALIBABA_CLOUD_ACCESS_KEY_ID",
        "aliyun_access_key_id",
        str,
        None,
        "Alibaba Cloud AccessKey ID (a RAM user allowed `dyvms:SmartCall` and the `dysms:` calls"
        " in docs/carriers.md)",
    ),
    Setting(
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET",
        "aliyun_access_key_secret",
        str,
        None,
        "Alibaba Cloud AccessKey secret: signs every SmartCall and SMS request",
    ),
    Setting(
        "PINGAN_ALIYUN_ENDPOINT",
        "aliyun_endpoint",
        _url,
        "https://dyvmsapi.aliyuncs.com",
        "Alibaba Cloud VMS API endpoint (the simulator's, e.g. `http://127.0.0.1:8901`, in tests)",
    ),
    Setting(
        "PINGAN_ALIYUN_CALLBACK_SECRET",
        "aliyun_callback_secret",
        _callback_secret,
        None,
        "secret path part of the callback URLs set in the VMS console "
        "(`/aliyun/<secret>/callback`, `/aliyun/<secret>/receipt`) and of the SMS console's "
        "delivery reports (`/aliyun/<secret>/sms-report`); 16+ URL-safe characters",
    ),
    Setting(
        "PINGAN_ALIYUN_SMS_ENDPOINT",
        "aliyun_sms_endpoint",
        _url,
        "https://dysmsapi.aliyuncs.com",
        "Alibaba Cloud SMS (短信服务) API endpoint (the SMS simulator's in tests)",
    ),
    Setting(
        "PINGAN_ALIYUN_SMS_SIGN_NAME",
        "aliyun_sms_sign_name",
        str,
        None,
        "the approved SMS signature (签名) staff texts are sent under, e.g. `中原社区`; "
        "needed with `aliyun`",
    ),
    *(
        Setting(
            f"PINGAN_ALIYUN_SMS_TEMPLATE_{kind.upper()}",
            f"aliyun_sms_template_{kind}",
            _template_code,
            None,
            f"code of the approved SMS template for the {what} (`SMS_…`, see docs/carriers.md);"
            " needed with `aliyun`",
        )
        for kind, what in (
            ("opened", "staff alert of a new escalation"),
            ("reminder", "staff reminder of an unacknowledged escalation"),
            ("family", "text to an unreachable resident's emergency contact"),
            ("recovered", "staff text that an unreachable resident checked in after all"),
            ("release", "text to a resident released before their last day"),
            ("order", "staff reminder of a need nobody took"),
        )
    ),
    Setting(
        "PINGAN_CALLER_ID",
        "caller_id",
        _phone,
        "+8657100000000",
        "the From number of outbound calls (your Twilio number)",
    ),
    Setting(
        "PINGAN_TIMEZONE",
        "timezone",
        _timezone,
        "Asia/Shanghai",
        "time zone for round times, calling windows and display",
    ),
    Setting(
        "PINGAN_LANGUAGE",
        "language",
        _choice("zh-CN", "en", "yue"),
        "zh-CN",
        "language of residents who have none set",
    ),
    Setting(
        "PINGAN_PHONE_REGION",
        "phone_region",
        _region,
        "CN",
        "region for phone numbers written without a country code",
    ),
    Setting("PINGAN_FEVER_C", "fever_c", _decimal, "37.3", "fever threshold, °C (≥)"),
    Setting(
        "PINGAN_HIGH_FEVER_C",
        "high_fever_c",
        _decimal,
        "38.5",
        "high fever threshold, °C (≥); urgent",
    ),
    Setting(
        "PINGAN_LOW_TEMPERATURE_C",
        "low_temperature_c",
        _decimal,
        "35.0",
        "low temperature threshold, °C (<)",
    ),
    Setting(
        "PINGAN_RISING_DELTA_C",
        "rising_delta_c",
        _decimal,
        "0.5",
        "a rise since the previous reading that opens `rising_temperature`, °C",
    ),
    Setting(
        "PINGAN_RISING_FROM_C",
        "rising_from_c",
        _decimal,
        "37.0",
        "`rising_temperature` applies at or above this reading, °C",
    ),
    Setting(
        "PINGAN_ACK_URGENT",
        "ack_urgent_s",
        parse_duration,
        "15m",
        "an urgent escalation not acknowledged this long is sent again, also to the supervisor",
    ),
    Setting(
        "PINGAN_ACK_HIGH",
        "ack_high_s",
        parse_duration,
        "60m",
        "the same for a high escalation",
    ),
    Setting(
        "PINGAN_ORDER_TAKE_WITHIN",
        "order_take_within_s",
        parse_duration,
        "4h",
        "a need nobody took (接单) this long reminds the staff on duty, like an unacknowledged"
        " escalation",
    ),
    Setting(
        "PINGAN_ALERT_RETRY_MAX",
        "alert_retry_max_s",
        parse_duration,
        "5m",
        "longest wait between two tries of an undelivered alert (tried until it is delivered or"
        " its escalation is acknowledged or resolved)",
    ),
    Setting(
        "PINGAN_ALERT_FALLBACK_AFTER",
        "alert_fallback_after",
        _positive_int,
        "3",
        "failed tries of one alert after which it is also sent by the other lane (SMS ↔ group"
        " chat) where that lane has nothing about it yet",
    ),
    Setting(
        "PINGAN_ALERTS_FAILING_AFTER",
        "alerts_failing_after_s",
        parse_duration,
        "5m",
        "an alert still undelivered this long after it was queued shows as alerts failing in"
        " `pingan health` and on the escalation page",
    ),
    Setting(
        "PINGAN_ALERT_CALL",
        "alert_call",
        _choice("urgent", "off"),
        "urgent",
        "`urgent`: an urgent escalation still unacknowledged `PINGAN_ALERT_CALL_AFTER` after it"
        " opened is also rung to the staff on duty, one by one, then the supervisors (press 1"
        " acknowledges); `off`: texts only",
    ),
    Setting(
        "PINGAN_ALERT_CALL_AFTER",
        "alert_call_after_s",
        parse_duration,
        "5m",
        "how long an urgent escalation waits for an acknowledgement of its text before the"
        " staff alert call",
    ),
    Setting(
        "PINGAN_SMS_FROM",
        "sms_from",
        str,
        None,
        "the From number of staff text messages; default `PINGAN_CALLER_ID`",
    ),
    Setting(
        "PINGAN_DUTY_PHONE",
        "duty_phone",
        str,
        None,
        "phone for callers no community can be found for (unknown or withheld numbers)",
    ),
    Setting(
        "PINGAN_RECORDINGS_DIR",
        "recordings_dir",
        str,
        None,
        "folder of recorded prompts `<lang>/<prompt>.mp3`; default `recordings` in the instance",
    ),
    Setting(
        "PINGAN_PDF_FONT",
        "pdf_font",
        str,
        "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
        "a CJK font (TTF, OTF or TTC) for the door-to-door list's PDF (Debian's fonts-noto-cjk)",
    ),
    Setting(
        "PINGAN_CALLS_PER_SECOND",
        "calls_per_second",
        _positive_float,
        "1",
        "new calls placed per second, across all workers",
    ),
    Setting(
        "PINGAN_MAX_CONCURRENT_CALLS",
        "max_concurrent_calls",
        _positive_int,
        "20",
        "calls in flight at once",
    ),
    Setting(
        "PINGAN_RETRY_DELAY",
        "retry_delay_s",
        parse_duration,
        "10m",
        "wait before calling again after a failed attempt",
    ),
    Setting(
        "PINGAN_MAX_ATTEMPTS", "max_attempts", _positive_int, "3", "attempts per resident per round"
    ),
    Setting(
        "PINGAN_RING_TIMEOUT",
        "ring_timeout_s",
        parse_duration,
        "45s",
        "how long a call rings before it counts as no-answer",
    ),
    Setting(
        "PINGAN_CALL_TIME_LIMIT",
        "call_time_limit_s",
        parse_duration,
        "15m",
        "longest a check-in call may last",
    ),
    Setting(
        "PINGAN_ROUND_TIMES",
        "round_times",
        parse_times,
        "09:00,16:00",
        "default round times of a community, local",
    ),
    Setting(
        "PINGAN_CALL_WINDOW",
        "call_window",
        parse_window,
        "08:00-20:00",
        "default calling window of a community, local; nobody is called outside it",
    ),
    Setting(
        "PINGAN_SPEECH_RATE",
        "speech_rate",
        str,
        "85%",
        "TTS speaking rate (SSML prosody), slower than normal by default",
    ),
    Setting(
        "PINGAN_MACHINE_DETECTION",
        "machine_detection",
        parse_bool,
        "false",
        "ask the carrier to detect answering machines (adds seconds of silence)",
    ),
    Setting(
        "PINGAN_FLOW_FILE",
        "flow_file",
        str,
        None,
        "a check-in flow file to use instead of the built-in one",
    ),
    Setting(
        "PINGAN_SECRET_KEY",
        "secret_key",
        str,
        None,
        "key for dashboard sessions; generated into the instance folder when unset",
    ),
    Setting(
        "PINGAN_WEB_WORKERS",
        "web_workers",
        _positive_int,
        "2",
        "gunicorn worker processes for `pingan serve`",
    ),
    Setting(
        "PINGAN_TRUSTED_PROXIES",
        "trusted_proxies",
        _count,
        "0",
        "reverse proxies in front of the app (1 behind nginx): their `X-Forwarded-For` and "
        "`X-Forwarded-Proto` are believed, so login limits and the audit trail see the real "
        "client address",
    ),
    Setting(
        "PINGAN_TELEGRAM_BOT_TOKEN",
        "telegram_bot_token",
        _bot_token,
        None,
        "the Telegram bot's token from BotFather; residents, families and staff can then use "
        "the bot (see Telegram)",
    ),
    Setting(
        "PINGAN_TELEGRAM_WEBHOOK_SECRET",
        "telegram_webhook_secret",
        _telegram_secret,
        None,
        "the `secret_token` Telegram sends with every update (`X-Telegram-Bot-Api-Secret-Token`); "
        "1–256 letters, digits, - or _; required with a bot token",
    ),
    Setting(
        "PINGAN_TELEGRAM_GRACE",
        "telegram_grace_s",
        parse_duration,
        "30m",
        "how long a resident linked to Telegram has to answer the check-in by chat before the "
        "phone call follows",
    ),
    Setting(
        "PINGAN_TELEGRAM_API_BASE",
        "telegram_api_base",
        _url,
        "https://api.telegram.org",
        "Bot API endpoint (the Bot API double's, e.g. `http://127.0.0.1:8902`, in tests)",
    ),
    Setting(
        "PINGAN_LOG_LEVEL",
        "log_level",
        _choice("DEBUG", "INFO", "WARNING", "ERROR"),
        "INFO",
        "logging level",
    ),
)


@dataclass(frozen=True)
class Settings:
    database_url: str
    instance_path: str
    public_url: str | None
    carrier: str
    twilio_account_sid: str | None
    twilio_auth_token: str | None
    twilio_api_base: str
    aliyun_access_key_id: str | None
    aliyun_access_key_secret: str | None
    aliyun_endpoint: str
    aliyun_callback_secret: str | None
    aliyun_sms_endpoint: str
    aliyun_sms_sign_name: str | None
    aliyun_sms_template_opened: str | None
    aliyun_sms_template_reminder: str | None
    aliyun_sms_template_family: str | None
    aliyun_sms_template_recovered: str | None
    aliyun_sms_template_release: str | None
    aliyun_sms_template_order: str | None
    caller_id: str
    timezone: str
    language: str
    phone_region: str
    fever_c: Decimal
    high_fever_c: Decimal
    low_temperature_c: Decimal
    rising_delta_c: Decimal
    rising_from_c: Decimal
    ack_urgent_s: int
    ack_high_s: int
    order_take_within_s: int
    alert_retry_max_s: int
    alert_fallback_after: int
    alerts_failing_after_s: int
    alert_call: str
    alert_call_after_s: int
    sms_from: str | None
    duty_phone: str | None
    recordings_dir: str | None
    pdf_font: str
    calls_per_second: float
    max_concurrent_calls: int
    retry_delay_s: int
    max_attempts: int
    ring_timeout_s: int
    call_time_limit_s: int
    round_times: tuple[dt.time, ...]
    call_window: tuple[dt.time, dt.time]
    speech_rate: str
    machine_detection: bool
    flow_file: str | None
    secret_key: str | None
    web_workers: int
    trusted_proxies: int
    telegram_bot_token: str | None
    telegram_webhook_secret: str | None
    telegram_grace_s: int
    telegram_api_base: str
    log_level: str

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def two_way_sms(self) -> bool:
        """Can staff answer a text? Not in mainland China (Alibaba Cloud SMS takes no replies)."""
        return self.carrier != "aliyun"

    @property
    def sms_templates(self) -> dict[str, str]:
        """The approved template code of each kind of text (Alibaba Cloud)."""
        found = {kind: getattr(self, f"aliyun_sms_template_{kind}") for kind in SMS_KINDS}
        return {kind: code for kind, code in found.items() if code}

    def replace(self, **changes: Any) -> Settings:
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        values.update(changes)
        return Settings(**values)


def load_settings(
    environ: Mapping[str, str] | None = None, overrides: Mapping[str, Any] | None = None
) -> Settings:
    """Settings from ``environ`` (default ``os.environ``); ``overrides`` win, already typed."""
    environ = os.environ if environ is None else environ
    overrides = dict(overrides or {})
    values: dict[str, Any] = {}
    for spec in SETTINGS:
        if spec.field in overrides:
            values[spec.field] = overrides.pop(spec.field)
            continue
        raw = environ.get(spec.env)
        raw = spec.default if raw is None or raw.strip() == "" else raw.strip()
        try:
            values[spec.field] = None if raw is None else spec.parse(raw)
        except ValueError as exc:
            raise ConfigError(
                f"{spec.env}={environ.get(spec.env)!r} is not valid: {exc}."
            ) from None
    if overrides:
        raise ConfigError(f"unknown settings: {', '.join(sorted(overrides))}.")
    return _complete(values)


def _complete(values: dict[str, Any]) -> Settings:
    instance = Path(values["instance_path"] or Path.cwd() / "instance").resolve()
    values["instance_path"] = str(instance)
    if not values["database_url"]:
        values["database_url"] = f"sqlite:///{instance / 'pingan.db'}"
    if not values["carrier"]:
        values["carrier"] = "twilio" if values["twilio_account_sid"] else "simulator"
    if values["carrier"] == "twilio":
        for env, key in (
            ("TWILIO_ACCOUNT_SID", "twilio_account_sid"),
            ("TWILIO_AUTH_TOKEN", "twilio_auth_token"),
            ("PINGAN_PUBLIC_URL", "public_url"),
        ):
            if not values[key]:
                raise ConfigError(f"PINGAN_CARRIER=twilio needs {env} to be set.")
    if values["carrier"] == "aliyun":
        _check_aliyun(values)
    if values["telegram_bot_token"] and not values["telegram_webhook_secret"]:
        raise ConfigError(
            "PINGAN_TELEGRAM_BOT_TOKEN needs PINGAN_TELEGRAM_WEBHOOK_SECRET to be set."
        )
    return Settings(**values)


SMS_KINDS = ("opened", "reminder", "family", "recovered", "release", "order")
ALIYUN_NEEDS = (
    ("ALIBABA_CLOUD_ACCESS_KEY_ID", "aliyun_access_key_id"),
    ("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "aliyun_access_key_secret"),
    ("PINGAN_ALIYUN_CALLBACK_SECRET", "aliyun_callback_secret"),
    ("PINGAN_ALIYUN_SMS_SIGN_NAME", "aliyun_sms_sign_name"),
    *((f"PINGAN_ALIYUN_SMS_TEMPLATE_{k.upper()}", f"aliyun_sms_template_{k}") for k in SMS_KINDS),
)


def _check_aliyun(values: dict[str, Any]) -> None:
    """VMS only calls from a number bought in mainland China (SmartCall ``CalledShowNumber``),
    and every text needs an approved template (SendSms takes no free text)."""
    for env, key in ALIYUN_NEEDS:
        if not values[key]:
            raise ConfigError(f"PINGAN_CARRIER=aliyun needs {env} to be set.")
    if not str(values["caller_id"]).startswith("+86"):
        raise ConfigError(
            "PINGAN_CARRIER=aliyun needs PINGAN_CALLER_ID to be the mainland number you bought "
            "in the VMS console (+86…)."
        )
