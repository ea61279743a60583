"""Text messages through the app's carrier (Twilio's Messages API, Alibaba Cloud SMS, or the
simulator).

Every text is written twice from one ``Alert``: as words (``templates/alerts/*sms*.txt``, what
Twilio sends and staff read back) and as the variables of the approved template of its kind
(``variables``), which is all a mainland China SMS service takes. The templates to apply for
are in ``docs/carriers.md``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import re

import phonenumbers

from ivr.carriers.telephony import Carrier, CarrierError, ErrorKind, TextMessage
from ivr.notifiers.base import Alert, NotifyError, render
from ivr.phones import mask_phone, mask_phones_in

log = logging.getLogger(__name__)

TEMPLATES = {
    "opened": "sms.txt",
    "reminder": "sms.txt",
    "family": "family_sms.txt",
    "recovered": "recovered_sms.txt",
}
NOT_MEASURED = "未测"


class SmsNotifier:
    channel = "sms"
    resends_unsure = True  # after looking the text up on the carrier

    def __init__(self, carrier: Carrier, from_: str) -> None:
        self.carrier = carrier
        self.from_ = from_

    @staticmethod
    def compose(alert: Alert) -> TextMessage:
        body = render(TEMPLATES[alert.kind], **alert.context())
        return TextMessage(body, alert.kind, variables(alert))

    def send(self, recipient: str, message: TextMessage, reference: str) -> str | None:
        try:
            sid = self.carrier.send_sms(recipient, self.from_, _with_reference(message, reference))
        except CarrierError as exc:
            # A bad number or a refused message will not go through on a second try either.
            permanent = exc.kind in (ErrorKind.BAD_NUMBER, ErrorKind.REJECTED)
            log.warning(
                "SMS to %s refused (%s %s): %s",
                mask_phone(recipient),
                exc.kind,
                exc.code,
                mask_phones_in(str(exc)),
            )
            raise NotifyError(
                f"{exc.code or exc.kind}: {exc}", permanent, unsure=exc.unsure
            ) from exc
        log.info("SMS to %s sent: %s", mask_phone(recipient), sid)
        return sid

    def already_sent(self, recipient: str, message: TextMessage, since: dt.datetime) -> str | None:
        try:
            return self.carrier.find_sms(recipient, self.from_, message, since)
        except CarrierError as exc:
            raise NotifyError(f"cannot look the text up: {exc}") from exc


def _with_reference(message: TextMessage, reference: str) -> TextMessage:
    return dataclasses.replace(message, reference=reference)


def variables(alert: Alert) -> dict[str, str]:
    """The variables of the approved template for ``alert.kind``: none may be empty, and a
    number is given as its digits (a template's phone variable takes nothing else)."""
    context = alert.context()
    who = {"community": alert.community, "resident": alert.resident, "phone": _digits(alert)}
    if alert.kind == "family":
        return {**who, "hotline": alert.hotline or "社区居委会"}
    if alert.kind == "recovered":
        reading = f"{context['reading']}℃" if context["reading"] else NOT_MEASURED
        return {
            "community": alert.community,
            "resident": alert.resident,
            "reason": context["reason_words"],
            "time": alert.reading_local,
            "temperature": reading,
        }
    found = {
        "severity": context["severity_words"],
        **who,
        "reason": context["reason_words"],
        "temperature": _temperature(alert, context["temperature"]),
        "address": alert.address or "未登记",
        "time": alert.opened_local,
    }
    if alert.kind == "reminder":
        found |= {"count": str(alert.reminder), "minutes": str(alert.waited_min)}
    return found


def _temperature(alert: Alert, shown: str) -> str:
    if not shown:
        return NOT_MEASURED
    return f"{shown}℃" if alert.temperature_confirmed else f"{shown}℃（未确认）"


def _digits(alert: Alert) -> str:
    """``+8613803710101`` → ``13803710101``; a fixed line keeps its area code (``0371…``)."""
    try:
        number = phonenumbers.parse(alert.phone, None)
    except phonenumbers.NumberParseException:
        return re.sub(r"\D", "", alert.phone) or alert.phone
    national = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    return re.sub(r"[^\d-]", "", national)
