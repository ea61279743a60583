"""Notifiers: one small class per channel behind one interface (``base.Notifier``).

Channels: ``sms`` (staff and family, through the carrier) and the group-chat formats ``wecom``,
``dingtalk`` and ``json`` (a community's outgoing webhook).
"""

from __future__ import annotations

from flask import Flask

from ivr import carrier_of, settings_of
from ivr.carriers.telephony import TextMessage
from ivr.notifiers.base import Alert, Notifier, NotifyError
from ivr.notifiers.chat import FORMATS, ChatNotifier
from ivr.notifiers.sms import SmsNotifier

__all__ = ["FORMATS", "Alert", "Notifier", "NotifyError", "compose", "notifiers_for"]


def notifiers_for(app: Flask) -> dict[str, Notifier]:
    """Every channel's notifier for this app, keyed by ``Notification.channel``."""
    settings = settings_of(app)
    found: dict[str, Notifier] = {
        "sms": SmsNotifier(carrier_of(app), settings.sms_from or settings.caller_id)
    }
    for channel in FORMATS:
        found[channel] = ChatNotifier(channel)
    if settings.telegram_bot_token:
        from ivr.carriers.telegram.bot import bot_of
        from ivr.carriers.telegram.notifier import TelegramNotifier

        found[TelegramNotifier.channel] = TelegramNotifier(bot_of(app))
    return found


def compose(channel: str, alert: Alert) -> TextMessage:
    """What ``channel`` would send for ``alert`` (no connection needed to compose)."""
    if channel == "sms":
        return SmsNotifier.compose(alert)
    if channel == "telegram":
        from ivr.carriers.telegram.notifier import TelegramNotifier

        return TelegramNotifier.compose(alert)
    return ChatNotifier(channel).compose(alert)
