"""``AliyunCarrier``: the ``Carrier`` seam over Alibaba Cloud VMS, through the official SDK.

This is the only module that imports the VMS SDK (texts: ``ivr.carriers.aliyun.sms``). A SmartCall
request names no webhook (the callback URL is fixed in the VMS console), so the attempt travels
in ``DynamicId``, which the platform hands back on the first callback
(``ivr.carriers.aliyun.actions``),
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

from ivr.carriers.aliyun.actions import OPENING, OPENING_MUTE_MS, first_dynamic_id, national, out_id
from ivr.carriers.aliyun.status import final_status
from ivr.carriers.telephony import CallInfo, CarrierError, ErrorKind, OutboundCall, TextMessage
from ivr.clock import Clock, SystemClock

if TYPE_CHECKING:
    from ivr.carriers.aliyun.sms import AliyunSms

log = logging.getLogger(__name__)


def sdk_config(access_key_id: str, access_key_secret: str, endpoint: str) -> Config:
    """An SDK client's settings for ``endpoint`` (the platform, or a simulator on loopback)."""
    url = urlsplit(endpoint)
    return Config(
        access_key_id=access_key_id,
        access_key_secret=access_key_secret,
        endpoint=url.netloc,
        protocol=url.scheme or "https",
        region_id="cn-hangzhou",
    )


def single_try(timeout_s: float) -> RuntimeOptions:
    """Each request sent once: what a failure means is decided above the SDK."""
    milliseconds = int(timeout_s * 1000)
    return RuntimeOptions(autoretry=False, read_timeout=milliseconds, connect_timeout=milliseconds)


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
SMART_CALL_PRODUCT = 11030000180001  # QueryCallDetailByCallId's ProdId for 智能外呼 calls
CHINA = dt.timezone(dt.timedelta(hours=8))
DETAIL_SYNC_S = 600  # "建议您呼叫结束后等待 3 到 5 分钟再尝试调用接口", and then some
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
        clock: Clock | None = None,
        sms: AliyunSms | None = None,
    ) -> None:
        self.sms = sms
        self._clock = clock or SystemClock()
        self._unsynced: dict[str, dt.datetime] = {}  # calls whose detail record is still empty
        self._client = Client(sdk_config(access_key_id, access_key_secret, endpoint))
        # No retries inside the SDK: a retried SmartCall could ring a resident twice; the dialer
        # decides what a failure means (``ErrorKind``).
        self._runtime = single_try(timeout_s)

    def place_call(self, call: OutboundCall) -> str:
        code = _attempt_code(call.url)
        request = models.SmartCallRequest(
            called_show_number=national(call.from_),
            called_number=national(call.to),
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
        """How a call ended, from its detail record: the settling of a call whose receipts were
        lost. The record is empty until the platform has synced it (3 to 5 minutes after the
        call): the call is then taken as still going and the sweeper asks again on its next
        round, for up to ``DETAIL_SYNC_S``; a call still without a record after that (one of
        another day, or none at all) is one the platform does not know."""
        request = models.QueryCallDetailByCallIdRequest(
            call_id=sid, prod_id=SMART_CALL_PRODUCT, query_date=self._query_date()
        )
        try:
            response = self._client.query_call_detail_by_call_id_with_options(
                request, self._runtime
            )
        except ResponseException as exc:
            raise CarrierError(
                f"{exc.code}: {exc.message}",
                error_kind(str(exc.code), exc.status_code),
                status=exc.status_code,
            ) from exc
        except Exception as exc:  # the SDK wraps network failures in several exception types
            raise CarrierError(f"carrier unreachable: {exc}", ErrorKind.TRANSIENT) from exc
        body = response.body
        if body is None or body.code != "OK":
            found = body.code if body is not None else "no body"
            raise CarrierError(f"{found}: call detail", error_kind(str(found), None))
        detail = _detail(body.data)
        now = self._clock.now()
        if not detail.get("state"):
            first = self._unsynced.setdefault(sid, now)
            if now - first < dt.timedelta(seconds=DETAIL_SYNC_S):
                return CallInfo(sid, "in-progress")
            del self._unsynced[sid]
            raise CarrierError(f"no call detail for {sid}", ErrorKind.REJECTED)
        self._unsynced.pop(sid, None)
        duration = detail.get("duration")
        seconds = (
            int(duration) if isinstance(duration, int | str) and str(duration).isdigit() else None
        )
        return CallInfo(sid, final_status(str(detail["state"])), seconds)

    def _query_date(self) -> int:
        """Midnight in China today, in ms: the record is searched in the 24 hours after
        ``QueryDate``, which must fall on the call's day."""
        today = (
            self._clock.now().astimezone(CHINA).replace(hour=0, minute=0, second=0, microsecond=0)
        )
        return int(today.timestamp() * 1000)

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


def _detail(data: str | None) -> dict[str, object]:
    try:
        value = json.loads(data) if data else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _attempt_code(answer_url: str) -> str:
    """The attempt's code from the answer URL the dialer builds (``…/voice/<code>/answer``)."""
    parts = urlsplit(answer_url).path.rstrip("/").split("/")
    return parts[-2] if len(parts) >= 2 else ""
