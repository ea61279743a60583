"""``POST /telegram/webhook``: the updates Telegram pushes (messages and button presses).

Every update must carry the ``secret_token`` given to setWebhook in
``X-Telegram-Bot-Api-Secret-Token`` (compared in constant time); anything else gets 403 and
changes nothing. An ``update_id`` is handled once: Telegram redelivers an update until it gets
a 200, so a repeat is answered 200 and ignored. A chat that is not linked learns nothing but
how to link. Whatever an update holds, the answer is 200 unless Pingan itself failed (then
Telegram delivers it again).
"""

from __future__ import annotations

import datetime as dt
import hmac
import logging
from typing import Any

from flask import Blueprint, Response, abort, current_app, request
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ivr import clock_of, flow_of, settings_of
from ivr.carriers.telegram import chat, conversation, linking
from ivr.carriers.telegram.bot import bot_of
from ivr.carriers.telegram.client import TelegramError
from ivr.carriers.telegram.staff import on_alert_press
from ivr.carriers.telegram.texts import word
from ivr.db import session_scope
from storage import TelegramUpdate

log = logging.getLogger(__name__)

bp = Blueprint("telegram", __name__, url_prefix="/telegram")
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
LANG = "zh-CN"


@bp.post("/webhook")
def webhook() -> Response:
    settings = settings_of(current_app)
    secret = settings.telegram_webhook_secret
    if not settings.telegram_bot_token or not secret:
        abort(404)
    given = request.headers.get(SECRET_HEADER, "")
    if not hmac.compare_digest(given.encode(), secret.encode()):
        log.warning(
            "telegram webhook: wrong or missing secret token from %s; refused", request.remote_addr
        )
        abort(403)
    update = request.get_json(silent=True)
    update_id = update.get("update_id") if isinstance(update, dict) else None
    if not isinstance(update, dict) or not isinstance(update_id, int):
        log.warning("telegram webhook: not an update; ignored")
        return Response(status=200)
    env = _env()
    with session_scope() as session:
        if not _first_time(session, update_id, env.now):
            log.info("telegram update %s delivered again; ignored", update_id)
            return Response(status=200)
        _handle(session, env, update)
    return Response(status=200)


def _env() -> conversation.ChatEnv:
    app = current_app
    return conversation.ChatEnv(flow_of(app), settings_of(app), clock_of(app).now(), bot_of(app))


def _first_time(session: Session, update_id: int, now: dt.datetime) -> bool:
    try:
        with session.begin_nested():
            session.add(TelegramUpdate(update_id=update_id, received_at=now))
    except IntegrityError:
        return False
    return True


def _handle(session: Session, env: conversation.ChatEnv, update: dict[str, Any]) -> None:
    message, query = update.get("message"), update.get("callback_query")
    if isinstance(message, dict):
        _on_message(session, env, message)
    elif isinstance(query, dict):
        _on_callback(session, env, query)
    else:
        log.info(
            "telegram update %s of a kind Pingan does not handle; ignored", update["update_id"]
        )


def _chat_id(message: Any) -> int | None:
    chat_ = message.get("chat") if isinstance(message, dict) else None
    value = chat_.get("id") if isinstance(chat_, dict) else None
    return value if isinstance(value, int) else None


def _on_message(session: Session, env: conversation.ChatEnv, message: dict[str, Any]) -> None:
    chat_id, text = _chat_id(message), message.get("text")
    if chat_id is None or not isinstance(text, str):
        return
    if (message.get("chat") or {}).get("type") != "private":
        return  # a group the bot posts alerts to: people talk there, not to Pingan
    command, _, argument = text.strip().partition(" ")
    if command in ("/start", "/link") and argument.strip():
        _link(session, env, chat_id, argument.strip())
        return
    if command in ("/stop", "/unlink"):
        _unlink(session, env, chat_id)
        return
    talk = conversation.open_talk(session, chat_id)
    if talk is not None:
        conversation.on_text(session, env, talk, text[:100])
        return
    if not linking.links_of_chat(session, chat_id):
        log.info("telegram chat %s is not linked; told how to link", chat_id)
        _say(env, chat_id, word(LANG, "unlinked"))
        return
    _say(env, chat_id, word(LANG, "nothing_now"))


def _link(session: Session, env: conversation.ChatEnv, chat_id: int, code: str) -> None:
    linked = linking.redeem(session, code[:32], chat_id, env.now)
    if linked is None:
        _say(env, chat_id, word(LANG, "link_bad_code"))
        return
    unlink = {"inline_keyboard": [[{"text": word(LANG, "unlink"), "callback_data": "u"}]]}
    greeting = "linked_household" if linked.household else f"linked_{linked.role}"
    _say(env, chat_id, word(LANG, greeting, name=linked.name), unlink)


def _unlink(session: Session, env: conversation.ChatEnv, chat_id: int) -> None:
    count = linking.unlink_chat(session, chat_id, "telegram", env.now)
    _say(env, chat_id, word(LANG, "unlinked_done" if count else "nothing_to_unlink"))


def _on_callback(session: Session, env: conversation.ChatEnv, query: dict[str, Any]) -> None:
    query_id, data = query.get("id"), query.get("data")
    sender = query.get("from") if isinstance(query.get("from"), dict) else {}
    user_id = sender.get("id") if isinstance(sender, dict) else None
    message = query.get("message")
    chat_id = _chat_id(message)
    message_id = message.get("message_id") if isinstance(message, dict) else None
    if not isinstance(query_id, str) or not isinstance(data, str) or not isinstance(user_id, int):
        return
    toast = _callback_reply(session, env, data, user_id, chat_id, message_id)
    try:
        env.api.answer_callback(query_id, toast)
    except TelegramError as exc:
        log.info("telegram: callback %s not answered: %s", query_id[:16], exc)


def _callback_reply(
    session: Session,
    env: conversation.ChatEnv,
    data: str,
    user_id: int,
    chat_id: int | None,
    message_id: Any,
) -> str | None:
    kind, _, rest = data.partition(":")
    if data == "u" and chat_id is not None:
        _unlink(session, env, chat_id)
        return None
    if kind in ("a", "r") and rest.isdigit() and len(rest) < 12:
        reply, markup, changed = on_alert_press(session, user_id, kind, int(rest), env.now)
        if changed and chat_id is not None and isinstance(message_id, int):
            _set_buttons(env, chat_id, message_id, markup)
        return reply
    press = chat.decode(data)
    if press is None or chat_id is None:
        log.warning("telegram: unknown callback data from user %s; ignored", user_id)
        return word(LANG, "stale")
    answer = conversation.on_press(
        session, env, chat_id, press, message_id if isinstance(message_id, int) else None
    )
    return answer.toast


def _set_buttons(
    env: conversation.ChatEnv, chat_id: int, message_id: int, markup: dict[str, object] | None
) -> None:
    try:
        env.api.edit_reply_markup(chat_id, message_id, markup)
    except TelegramError as exc:
        log.info("telegram chat %s: alert buttons not updated: %s", chat_id, exc)


def _say(
    env: conversation.ChatEnv, chat_id: int, text: str, markup: dict[str, Any] | None = None
) -> None:
    try:
        env.api.send_message(chat_id, text, markup)
    except TelegramError as exc:
        log.warning("telegram chat %s: reply not sent: %s", chat_id, exc)
