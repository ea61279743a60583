"""A Bot API double beside the simulated carrier, and the app's bot pointed at it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask

from ivr.carriers.telegram.bot import bot_of
from ivr.carriers.telegram.double import BotApiDouble, ChatUser
from ivr.carriers.telegram.linking import new_code
from ivr.clock import FixedClock
from ivr.db import session_scope
from storage import Resident, Staff

TOKEN = "123456789:AAEtestTOKENtestTOKENtestTOKEN0123"
SECRET = "pingan-webhook-secret-0123456789"


@pytest.fixture
def double(clock: FixedClock) -> Iterator[BotApiDouble]:
    bot = BotApiDouble(TOKEN, clock)
    yield bot
    bot.close()


@pytest.fixture
def settings_overrides(double: BotApiDouble) -> dict[str, Any]:
    return {
        "telegram_bot_token": TOKEN,
        "telegram_webhook_secret": SECRET,
        "telegram_api_base": double.base_url,
    }


@pytest.fixture
def webhook(app: Flask, server: str, double: BotApiDouble) -> str:
    """The webhook registered with the double, as `pingan telegram setup` does."""
    url = f"{server}/telegram/webhook"
    assert bot_of(app).set_webhook(url, SECRET)
    return url


def link(
    app: Flask,
    user: ChatUser,
    *,
    resident_id: int | None = None,
    staff_id: int | None = None,
    role: str = "resident",
    household: bool = False,
) -> None:
    """Staff hand out a code (``household``: for everyone sharing the resident's phone); the
    user sends /start CODE."""
    now = app.extensions["pingan.clock"].now()
    with session_scope(app) as session:
        resident = session.get(Resident, resident_id) if resident_id else None
        staff = session.get(Staff, staff_id) if staff_id else None
        code = new_code(
            session, "赵红梅", now, resident=resident, staff=staff, role=role, household=household
        ).code
    assert user.send(f"/start {code}") == 200
