"""The worker's Telegram job: send the chat check-ins whose time has come, and forget the
``update_id``s of updates Telegram can no longer redeliver (it keeps them 24 hours)."""

from __future__ import annotations

import datetime as dt

from flask import Flask
from sqlalchemy import delete

from ivr import clock_of, flow_of, settings_of
from ivr.carriers.telegram.bot import bot_of, enabled
from ivr.carriers.telegram.conversation import ChatEnv, send_due
from ivr.db import sessions
from storage import TelegramUpdate

UPDATES_KEPT = dt.timedelta(days=7)


def send_chat_checkins(app: Flask) -> int:
    if not enabled(app):
        return 0
    with sessions(app).begin() as session:
        env = ChatEnv(flow_of(app), settings_of(app), clock_of(app).now(), bot_of(app))
        session.execute(
            delete(TelegramUpdate).where(TelegramUpdate.received_at < env.now - UPDATES_KEPT)
        )
        return send_due(session, env)
