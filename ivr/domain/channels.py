"""Ways to reach people besides the phone call and the SMS, as rounds and alerts see them.

Rounds ask a channel to take the first contact of some check-ins (``offer_round``: their call
then waits); alerts ask which extra (channel, recipient) pairs the staff being told have
(``staff_targets``). Telegram is the one such channel, on when its bot token is set; nothing
outside ``ivr.carriers.telegram`` knows more of it than this.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from ivr.config import Settings


def offer_round(session: Session, round_id: int, settings: Settings, now: dt.datetime) -> int:
    """Check-ins of the round whose first contact a channel took; returns how many."""
    if not settings.telegram_bot_token:
        return 0
    from ivr.carriers.telegram.conversation import offer_round as by_telegram

    return by_telegram(session, round_id, settings, now)


def staff_targets(session: Session, phones: list[str], settings: Settings) -> list[tuple[str, str]]:
    """Where else the staff with these phones are told: (notification channel, recipient)."""
    if not settings.telegram_bot_token:
        return []
    from ivr.carriers.telegram.linking import staff_chats
    from ivr.carriers.telegram.notifier import CHANNEL

    return [(CHANNEL, str(chat_id)) for chat_id in staff_chats(session, phones)]
