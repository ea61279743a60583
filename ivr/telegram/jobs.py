"""The worker's Telegram job: send the chat check-ins whose time has come."""

from __future__ import annotations

from flask import Flask

from ivr import clock_of, flow_of, settings_of
from ivr.db import sessions
from ivr.telegram.bot import bot_of, enabled
from ivr.telegram.conversation import ChatEnv, send_due


def send_chat_checkins(app: Flask) -> int:
    if not enabled(app):
        return 0
    with sessions(app).begin() as session:
        env = ChatEnv(flow_of(app), settings_of(app), clock_of(app).now(), bot_of(app))
        return send_due(session, env)
