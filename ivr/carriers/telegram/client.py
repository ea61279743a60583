"""The Bot API methods Pingan calls, over plain ``requests``.

Plain HTTPS rather than python-telegram-bot: its ``Bot`` is asyncio-only, and Pingan's webhooks
are synchronous Flask views running in gunicorn's sync workers; one POST per method is all the
Bot API needs. The token is part of every URL, so no URL (and no ``requests`` exception text,
which quotes it) ever reaches a log line or an error message.
"""

from __future__ import annotations

import logging
from typing import Any

import requests

from ivr.carriers.ambiguity import may_have_arrived

log = logging.getLogger(__name__)

TIMEOUT_S = 10
# The update types Pingan handles; setWebhook's allowed_updates keeps the others away.
ALLOWED_UPDATES = ("message", "callback_query")


class TelegramError(Exception):
    """A method call that failed: Telegram's ``error_code`` and ``description``, or no answer
    (``unsure``: the request may have arrived)."""

    def __init__(self, description: str, code: int | None = None, *, unsure: bool = False):
        super().__init__(description if code is None else f"{code} {description}")
        self.description = description
        self.code = code
        self.unsure = unsure

    @property
    def permanent(self) -> bool:
        """A refusal trying again cannot fix (a 4xx other than 429 Too Many Requests)."""
        return self.code is not None and 400 <= self.code < 500 and self.code != 429


class BotApi:
    def __init__(self, token: str, base: str, timeout_s: float = TIMEOUT_S) -> None:
        self._url = f"{base.rstrip('/')}/bot{token}/"
        self.timeout_s = timeout_s

    def call(self, method: str, **params: Any) -> Any:
        """POST ``params`` as JSON; the ``result`` of an ``ok`` answer, else ``TelegramError``."""
        body = {k: v for k, v in params.items() if v is not None}
        try:
            reply = requests.post(self._url + method, json=body, timeout=self.timeout_s)
        except requests.RequestException as exc:
            unsure = may_have_arrived(exc)
            log.warning("telegram %s: no answer (%s)", method, exc.__class__.__name__)
            raise TelegramError(f"unreachable: {exc.__class__.__name__}", unsure=unsure) from None
        try:
            answer = reply.json()
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            raise TelegramError(f"HTTP {reply.status_code} without a Bot API answer")
        if not answer.get("ok"):
            code = answer.get("error_code")
            description = str(answer.get("description") or "refused")[:300]
            log.warning("telegram %s refused: %s %s", method, code, description)
            raise TelegramError(description, code if isinstance(code, int) else reply.status_code)
        return answer.get("result")

    def send_message(
        self,
        chat_id: int | str,
        text: str,
        reply_markup: dict[str, Any] | None = None,
        parse_mode: str | None = None,
    ) -> dict[str, Any]:
        result: dict[str, Any] = self.call(
            "sendMessage",
            chat_id=chat_id,
            text=text,
            reply_markup=reply_markup,
            parse_mode=parse_mode,
            link_preview_options={"is_disabled": True},
        )
        return result

    def edit_reply_markup(
        self, chat_id: int | str, message_id: int, reply_markup: dict[str, Any] | None = None
    ) -> None:
        self.call(
            "editMessageReplyMarkup",
            chat_id=chat_id,
            message_id=message_id,
            reply_markup=reply_markup or {"inline_keyboard": []},
        )

    def answer_callback(self, callback_query_id: str, text: str | None = None) -> None:
        self.call("answerCallbackQuery", callback_query_id=callback_query_id, text=text)

    def set_webhook(self, url: str, secret_token: str) -> bool:
        return bool(
            self.call(
                "setWebhook",
                url=url,
                secret_token=secret_token,
                allowed_updates=list(ALLOWED_UPDATES),
                drop_pending_updates=False,
            )
        )

    def get_webhook_info(self) -> dict[str, Any]:
        result: dict[str, Any] = self.call("getWebhookInfo")
        return result
