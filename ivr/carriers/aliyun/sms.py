"""Staff texts through Alibaba Cloud 短信服务 (``SendSms``), the only module importing
``alibabacloud_dysmsapi20170525``.

Mainland China takes no free text: each kind of text (``TextMessage.template``: opened, reminder,
family, recovered) is sent as the operator's approved template (``PINGAN_ALIYUN_SMS_TEMPLATE_*``)
with its variables, under the approved signature. A value longer than a template variable takes
is cut, and anything that reads as a link is defused, so that a long name or a hostile address
never costs the whole alert. The contract, with its sources, is in ``docs/carriers.md``.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

from alibabacloud_dysmsapi20170525 import models
from alibabacloud_dysmsapi20170525.client import Client
from darabonba.exceptions import ResponseException

from ivr.carriers.aliyun.carrier import error_kind, sdk_config, single_try
from ivr.carriers.ambiguity import may_have_arrived
from ivr.carriers.telephony import CarrierError, ErrorKind, TextMessage

MAX_VARIABLE = 35  # characters in one variable of a notification template
OUT_ID_MAX = 64
SERVICE_TZ = ZoneInfo("Asia/Shanghai")  # QuerySendDetails takes the sending day, yyyyMMdd
# A domain name or a scheme: SendSms refuses a link in a variable (isv.PARAM_NOT_SUPPORT_URL).
LINKISH = re.compile(r"(?i)[a-z][a-z0-9+.-]*://|www\.|(?<=[a-z0-9-])\.(?=[a-z]{2,})")
SMS_AUTH = frozenset({"isv.PRODUCT_UN_SUBSCRIPT", "isv.PRODUCT_UNSUBSCRIBE"})
SMS_TRANSIENT = frozenset({"isv.DAY_LIMIT_CONTROL", "isv.MONTH_LIMIT_CONTROL"})
STATUS = {0: "under review", 1: "approved", 2: "rejected", 10: "withdrawn"}


def sms_error_kind(code: str, status: int | None) -> ErrorKind:
    if code in SMS_AUTH:
        return ErrorKind.AUTH
    if code in SMS_TRANSIENT:  # the console's own daily/monthly cap: it lifts by itself
        return ErrorKind.TRANSIENT
    return error_kind(code, status)


class AliyunSms:
    """``SendSms`` with the approved signature and templates; ``QuerySendDetails`` to find a text
    whose answer was lost; ``QuerySmsSign``/``QuerySmsTemplate`` for ``pingan health``."""

    def __init__(
        self,
        access_key_id: str,
        access_key_secret: str,
        endpoint: str,
        sign_name: str,
        templates: Mapping[str, str],
        timeout_s: float = 15,
    ) -> None:
        self._client = Client(sdk_config(access_key_id, access_key_secret, endpoint))
        # SendSms is not idempotent: a retry inside the SDK could text a person twice. A lost
        # answer is looked up instead (``find``), as on Twilio.
        self._runtime = single_try(timeout_s)
        self.sign_name = sign_name
        self.templates = dict(templates)

    def send(self, to: str, text: TextMessage) -> str:
        code = self.templates.get(text.template)
        if code is None:
            raise CarrierError(
                f"no approved SMS template for {text.template!r} texts", ErrorKind.REJECTED
            )
        request = models.SendSmsRequest(
            phone_numbers=_number(to),
            sign_name=self.sign_name,
            template_code=code,
            template_param=json.dumps(fitted(text.params), ensure_ascii=False),
            out_id=text.reference[:OUT_ID_MAX] or None,
        )
        body = self._call(lambda: self._client.send_sms_with_options(request, self._runtime))
        return str(body.biz_id)

    def find(self, to: str, text: TextMessage, since: dt.datetime) -> str | None:
        """The text sent with this ``OutId`` since ``since`` (its day and the next two)."""
        if not text.reference:
            return None
        first = since.astimezone(SERVICE_TZ).date()
        for day in (first + dt.timedelta(days=n) for n in range(3)):
            request = models.QuerySendDetailsRequest(
                phone_number=_number(to),
                send_date=day.strftime("%Y%m%d"),
                page_size=50,
                current_page=1,
            )
            body = self._call(
                partial(self._client.query_send_details_with_options, request, self._runtime)
            )
            dtos = body.sms_send_detail_dtos
            for sent in dtos.sms_send_detail_dto if dtos else []:
                if sent.out_id == text.reference[:OUT_ID_MAX]:
                    return str(sent.out_id)
        return None

    def check(self) -> list[str]:
        """Unapproved or unknown signature and templates, in words for the operator."""
        problems = []
        sign = self._query(models.QuerySmsSignRequest(sign_name=self.sign_name))
        if isinstance(sign, str):
            problems.append(f"SMS signature {self.sign_name!r}: {sign}")
        elif sign.sign_status != 1:
            problems.append(f"SMS signature {self.sign_name!r} is {_status(sign.sign_status)}")
        for kind, code in self.templates.items():
            found = self._query(models.QuerySmsTemplateRequest(template_code=code))
            if isinstance(found, str):
                problems.append(f"SMS template {code} ({kind}): {found}")
            elif found.template_status != 1:
                problems.append(f"SMS template {code} ({kind}) is {_status(found.template_status)}")
        return problems

    def _query(
        self, request: models.QuerySmsSignRequest | models.QuerySmsTemplateRequest
    ) -> str | models.QuerySmsSignResponseBody | models.QuerySmsTemplateResponseBody:
        """The answer, or the refusal in words (a missing template is a finding, not a
        failure); credentials refused and an unreachable service raise."""
        try:
            if isinstance(request, models.QuerySmsSignRequest):
                sign = self._client.query_sms_sign_with_options(request, self._runtime)
                return self._checked(sign.body, sign.status_code)
            template = self._client.query_sms_template_with_options(request, self._runtime)
            return self._checked(template.body, template.status_code)
        except CarrierError as exc:
            if exc.kind in (ErrorKind.AUTH, ErrorKind.TRANSIENT):
                raise
            return str(exc)
        except ResponseException as exc:
            raise _refusal(exc) from exc
        except Exception as exc:  # the SDK wraps network failures in several exception types
            raise CarrierError(f"SMS service unreachable: {exc}", ErrorKind.TRANSIENT) from exc

    def _call(self, request: Callable[[], Any]) -> Any:
        try:
            response = request()
        except ResponseException as exc:
            raise _refusal(exc) from exc
        except Exception as exc:  # the SDK wraps network failures in several exception types
            # The SDK keeps the HTTP client's own error in ``inner_exception``.
            cause = getattr(exc, "inner_exception", None) or exc
            raise CarrierError(
                f"SMS service unreachable: {cause}",
                ErrorKind.TRANSIENT,
                unsure=may_have_arrived(cause),
            ) from exc
        return self._checked(response.body, response.status_code)

    @staticmethod
    def _checked(body: Any, status: int | None) -> Any:
        """A business refusal comes back as HTTP 200 with another ``Code``."""
        if body is None or body.code != "OK":
            found = body.code if body is not None else "no body"
            message = body.message if body is not None else ""
            raise CarrierError(f"{found}: {message}", sms_error_kind(str(found), status))
        return body


def fitted(params: Mapping[str, str]) -> dict[str, str]:
    """Every value as a template variable takes it: links defused, at most ``MAX_VARIABLE``
    characters (a long name or address keeps its start and ends in "…")."""
    found = {}
    for name, value in params.items():
        plain = LINKISH.sub(lambda m: "·" if m.group(0) == "." else "", value).strip() or "-"
        found[name] = plain if len(plain) <= MAX_VARIABLE else plain[: MAX_VARIABLE - 1] + "…"
    return found


def _number(e164: str) -> str:
    """Mainland numbers without a prefix (1390000****); others as 国际区号+号码."""
    return e164[3:] if e164.startswith("+86") else e164.lstrip("+")


def _status(status: int | None) -> str:
    return STATUS.get(status if status is not None else -1, f"in status {status}")


def _refusal(exc: ResponseException) -> CarrierError:
    return CarrierError(
        f"{exc.code}: {exc.message}",
        sms_error_kind(str(exc.code), exc.status_code),
        status=exc.status_code,
    )
