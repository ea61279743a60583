"""短信发送状态报告 (SmsReport, HTTP 批量推送) read into ``ivr.domain.text_delivery`` reports.

The platform POSTs a JSON array of ``{phone_number, send_time, report_time, success, err_code,
err_msg, sms_size, biz_id, out_id}``; ``success`` is a boolean, ``err_code`` ``DELIVERED`` on
success, ``biz_id`` SendSms's BizId and ``out_id`` our OutId (docs/carriers.md, SmsReport).
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from ivr.carriers.aliyun.actions import e164
from ivr.domain.text_delivery import Report
from ivr.phones import mask_phone

RECEIVED = {"code": 0, "msg": "接收成功"}  # the reply the platform expects; any other is retried
MAX_REPORTS = 1000  # reports read from one push; the rest of a hostile array is dropped
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"  # China time [U: the page gives no zone]
CHINA = ZoneInfo("Asia/Shanghai")


def parse(raw: object, now: dt.datetime) -> Report | None:
    """One element of the array as a report; None when it names no text of ours."""
    if not isinstance(raw, dict):
        return None
    provider_id, reference = _text(raw, "biz_id", 64), _text(raw, "out_id", 64)
    if not provider_id and not reference:
        return None
    code = _text(raw, "err_code", 64)
    success = raw.get("success")
    return Report(
        provider_id=provider_id,
        reference=reference,
        # A boolean by the documentation; without one, the code says it.
        delivered=success if isinstance(success, bool) else code == "DELIVERED",
        code=code,
        message=_text(raw, "err_msg", 200),
        at=_reported_at(_text(raw, "report_time", 32), now),
    )


def masked_phone(raw: object) -> str:
    """The report's ``phone_number`` as the logs show numbers."""
    number = _text(raw, "phone_number", 32) if isinstance(raw, dict) else ""
    return mask_phone(e164(number)) if number else "-"


def _text(raw: dict[str, Any], key: str, limit: int) -> str:
    """A field as text, without control characters (PostgreSQL stores no NUL), at most
    ``limit`` characters; "" when it is missing or not a string or a number."""
    value = raw.get(key)
    if not isinstance(value, str | int):
        return ""
    return "".join(ch for ch in str(value)[:limit] if ch.isprintable()).strip()


def _reported_at(raw: str, now: dt.datetime) -> dt.datetime:
    """``report_time`` (China time), in UTC; the time it arrived when it does not read."""
    try:
        local = dt.datetime.strptime(raw, TIME_FORMAT)
    except ValueError:
        return now
    return local.replace(tzinfo=CHINA).astimezone(dt.UTC)
