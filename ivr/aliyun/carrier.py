"""``AliyunCarrier``: the ``Carrier`` seam over Alibaba Cloud VMS, through the official SDK.

This is the only module that imports the VMS SDK (texts: ``ivr.aliyun.sms``). A SmartCall
request names no webhook (the callback URL is fixed in the VMS console), so the attempt travels
in ``DynamicId``, which the platform hands back on the first callback (``ivr.aliyun.actions``),
and in ``OutId``, which comes back in the receipts.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from alibabacloud_dyvmsapi20170525 import models
from alibabacloud_dyvmsapi20170525.client import Client
from alibabacloud_tea_openapi.utils_models import Config
from darabonba.exceptions import ResponseException
from darabonba.runtime import RuntimeOptions

from ivr.aliyun.actions import OPENING, OPENING_MUTE_MS, first_dynamic_id, out_id
from ivr.telephony import CallInfo, CarrierError, ErrorKind, OutboundCall, TextMessage

if TYPE_CHECKING:
    from ivr.aliyun.sms import AliyunSms

log = logging.getLogger(__name__)

# Codes from the VMS API error list (help.aliyun.com/document_detail/178344, and the dyvmsapi
# 2017-05-25 error codes page); see docs/carriers.md.
AUTH_CODES = frozenset(
    {
        "InvalidAccessKeyId.NotFound",
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "isv.ACCOUNT_NOT_EXISTS",
        "isp.RAM_PERMISSION_DENY",
        "Forbidden.RAM",
    }
)
BAD_NUMBER_CODES = frozenset({"isv.MOBILE_NUMBER_ILLEGAL", "InvalidCalledNumber.Malformed"})
TRANSIENT_CODES = frozenset(
    {"isv.BUSINESS_LIMIT_CONTROL", "Throttling", "Throttling.User", "isp.SYSTEM_ERROR"}
)


def error_kind(code: str, status: int | None) -> ErrorKind:
    if code in AUTH_CODES or code.startswith("InvalidAccessKeyId"):
        return ErrorKind.AUTH
    if code in BAD_NUMBER_CODES:
        return ErrorKind.BAD_NUMBER
    if code in TRANSIENT_CODES or code.startswith("Throttling") or (status or 0) >= 500:
        return ErrorKind.TRANSIENT
    return ErrorKind.REJECTED


class AliyunCarrier:
    """SmartCall for outbound calls; texts through the SMS service (``sms``), when given."""

    name = "aliyun"

    def __init__(
        self,
        access_key_id: str,
        access_key_secret: str,
        endpoint: str,
        timeout_s: float = 15,
        sms: AliyunSms | None = None,
    ) -> None:
        self.sms = sms
        url = urlsplit(endpoint)
        config = Config(
            access_key_id=access_key_id,
            access_key_secret=access_key_secret,
            endpoint=url.netloc,
            protocol=url.scheme or "https",
            region_id="cn-hangzhou",
        )
        self._client = Client(config)
        # No retries inside the SDK: a retried SmartCall could ring a resident twice; the dialer
        # decides what a failure means (``ErrorKind``).
        self._runtime = RuntimeOptions(
            autoretry=False,
            read_timeout=int(timeout_s * 1000),
            connect_timeout=int(timeout_s * 1000),
        )

    def place_call(self, call: OutboundCall) -> str:
        code = _attempt_code(call.url)
        request = models.SmartCallRequest(
            called_show_number=_national(call.from_),
            called_number=_national(call.to),
            voice_code=f"${OPENING[0]}$",
            voice_code_param=json.dumps({OPENING[0]: OPENING[1]}, ensure_ascii=False),
            out_id=out_id(code),
            dynamic_id=first_dynamic_id(code),
            action_code_break=False,
            mute_time=OPENING_MUTE_MS,
            session_timeout=call.time_limit_s,
            early_media_asr=False,
            record_flag=False,
        )
        try:
            response = self._client.smart_call_with_options(request, self._runtime)
        except ResponseException as exc:
            raise CarrierError(
                f"{exc.code}: {exc.message}",
                error_kind(str(exc.code), exc.status_code),
                status=exc.status_code,
            ) from exc
        except Exception as exc:  # the SDK wraps network failures in several exception types
            raise CarrierError(f"carrier unreachable: {exc}", ErrorKind.TRANSIENT) from exc
        body = response.body
        if body is None or body.code != "OK" or not body.call_id:
            found = body.code if body is not None else "no body"
            message = body.message if body is not None else ""
            raise CarrierError(f"{found}: {message}", error_kind(str(found), response.status_code))
        return str(body.call_id)

    def fetch_call(self, sid: str) -> CallInfo:
        # The receipts settle calls; a call whose receipt was lost is closed by the sweeper as
        # failed (QueryCallDetailByCallId is not wired yet, see docs/carriers.md).
        raise CarrierError("call lookup is not available on Alibaba Cloud yet", ErrorKind.REJECTED)

    def send_sms(self, to: str, from_: str, text: TextMessage) -> str:
        # ``from_`` has no place on SendSms: texts come from the signature's channel.
        return self._texts().send(to, text)

    def find_sms(self, to: str, from_: str, text: TextMessage, since: dt.datetime) -> str | None:
        return self._texts().find(to, text, since)

    def check(self) -> list[str]:
        # VMS has no read-only call that needs nothing but the account (docs/carriers.md):
        # the AccessKey is proven by the SMS queries, which share it.
        return self._texts().check()

    def _texts(self) -> AliyunSms:
        if self.sms is None:
            raise CarrierError("no Alibaba Cloud SMS signature configured", ErrorKind.REJECTED)
        return self.sms


def _national(e164: str) -> str:
    """VMS takes mainland numbers without the country code (examples: 1590****0000)."""
    return e164[3:] if e164.startswith("+86") else e164


def _attempt_code(answer_url: str) -> str:
    """The attempt's code from the answer URL the dialer builds (``…/voice/<code>/answer``)."""
    parts = urlsplit(answer_url).path.rstrip("/").split("/")
    return parts[-2] if len(parts) >= 2 else ""
