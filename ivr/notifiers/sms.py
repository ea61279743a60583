"""Text messages through the app's carrier (Twilio's Messages API, or the simulator)."""

from __future__ import annotations

import datetime as dt
import logging

from ivr.notifiers.base import Alert, NotifyError, render
from ivr.phones import mask_phone, mask_phones_in
from ivr.telephony import Carrier, CarrierError, ErrorKind

log = logging.getLogger(__name__)

TEMPLATES = {
    "opened": "sms.txt",
    "reminder": "sms.txt",
    "family": "family_sms.txt",
    "recovered": "recovered_sms.txt",
}


class SmsNotifier:
    channel = "sms"
    resends_unsure = True  # after looking the text up on the carrier

    def __init__(self, carrier: Carrier, from_: str) -> None:
        self.carrier = carrier
        self.from_ = from_

    @staticmethod
    def compose(alert: Alert) -> str:
        return render(TEMPLATES[alert.kind], **alert.context())

    def send(self, recipient: str, body: str, reference: str) -> str | None:
        try:
            sid = self.carrier.send_sms(recipient, self.from_, body)
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

    def already_sent(self, recipient: str, body: str, since: dt.datetime) -> str | None:
        try:
            return self.carrier.find_sms(recipient, self.from_, body, since)
        except CarrierError as exc:
            raise NotifyError(f"cannot look the text up: {exc}") from exc
