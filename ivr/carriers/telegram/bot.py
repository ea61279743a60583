"""The app's Bot API client, made once per app from its settings."""

from __future__ import annotations

from flask import Flask

from ivr import settings_of
from ivr.carriers.telegram.client import BotApi


def enabled(app: Flask) -> bool:
    return bool(settings_of(app).telegram_bot_token)


def bot_of(app: Flask) -> BotApi:
    api: BotApi | None = app.extensions.get("pingan.telegram")
    if api is None:
        settings = settings_of(app)
        api = BotApi(settings.telegram_bot_token or "", settings.telegram_api_base)
        app.extensions["pingan.telegram"] = api
    return api
