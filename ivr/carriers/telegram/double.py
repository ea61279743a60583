"""A local Bot API: the methods Pingan calls, as strict as Telegram, and scripted chat users.

``BotApiDouble`` serves ``/bot<token>/<method>`` for sendMessage, editMessageReplyMarkup,
answerCallbackQuery, setWebhook and getWebhookInfo, and refuses what Telegram refuses, with
Telegram's error codes and descriptions: a wrong token (401), an unknown chat or a user who
blocked the bot, empty or overlong text, HTML that does not parse (``parse_mode``), a
``callback_data`` outside 1–64 bytes (BUTTON_DATA_INVALID), an edit that changes nothing, a
callback query answered twice or never sent. Its ``ChatUser``s type and tap buttons: each
action is a real-shaped update POSTed to the registered webhook over HTTP with the
``X-Telegram-Bot-Api-Secret-Token`` header, one at a time as Telegram delivers them.

One liberty: a webhook may be plain ``http://`` on a loopback address (Telegram wants HTTPS on
port 443, 80, 88 or 8443), so that tests and the demo can reach a local app.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlsplit

import requests
from werkzeug.wrappers import Request, Response

from ivr.carriers.simulator.rest import WsgiServer
from ivr.clock import Clock, SystemClock

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
UPDATE_TYPES = frozenset(
    {
        "message",
        "edited_message",
        "channel_post",
        "callback_query",
        "inline_query",
        "poll",
        "my_chat_member",
        "chat_member",
        "chat_join_request",
        "message_reaction",
    }
)
HTML_TAGS = frozenset(
    {
        "b",
        "strong",
        "i",
        "em",
        "u",
        "ins",
        "s",
        "strike",
        "del",
        "a",
        "code",
        "pre",
        "span",
        "tg-spoiler",
        "tg-emoji",
        "blockquote",
    }
)
MAX_TEXT = 4096
MAX_CALLBACK_DATA = 64
MAX_TOAST = 200
BOT_USER = {"id": 7000000001, "is_bot": True, "first_name": "Pingan", "username": "pingan_bot"}


class ApiRefusal(Exception):
    def __init__(self, code: int, description: str) -> None:
        super().__init__(description)
        self.code = code
        self.description = description


def _bad(description: str) -> ApiRefusal:
    return ApiRefusal(400, f"Bad Request: {description}")


@dataclass
class Message:
    chat_id: int
    message_id: int
    text: str
    markup: dict[str, Any] | None
    parse_mode: str | None
    from_bot: bool
    date: int

    def buttons(self) -> list[tuple[str, str]]:
        rows = (self.markup or {}).get("inline_keyboard") or []
        return [(b["text"], b.get("callback_data", "")) for row in rows for b in row]

    def as_update(self, chat: dict[str, Any]) -> dict[str, Any]:
        shaped: dict[str, Any] = {
            "message_id": self.message_id,
            "date": self.date,
            "chat": chat,
            "text": self.text,
        }
        if self.from_bot:
            shaped["from"] = BOT_USER
        if self.markup:
            shaped["reply_markup"] = self.markup
        return shaped


@dataclass
class Chat:
    id: int
    type: str  # private | group
    name: str
    blocked: bool = False
    messages: list[Message] = field(default_factory=list)
    log: list[str] = field(default_factory=list)  # the chat as a person reads it, in order

    def shaped(self) -> dict[str, Any]:
        if self.type == "private":
            return {"id": self.id, "type": "private", "first_name": self.name}
        return {"id": self.id, "type": self.type, "title": self.name}


class BotApiDouble:
    """Start it, point ``PINGAN_TELEGRAM_API_BASE`` at ``base_url``, ``close()`` when done."""

    def __init__(self, token: str, clock: Clock | None = None) -> None:
        self.token = token
        self.clock = clock or SystemClock()
        self.chats: dict[int, Chat] = {}
        self.webhook: dict[str, Any] = {"url": "", "secret_token": None, "allowed_updates": None}
        self.callbacks: dict[str, str | None] = {}  # query id → the toast it was answered with
        self.answered: set[str] = set()
        self._query_chats: dict[str, int] = {}
        self.deliveries: list[tuple[dict[str, Any], int]] = []  # (update, HTTP status)
        self._update_ids = itertools.count(800000001)
        self._message_ids = itertools.count(1)
        self._queries = itertools.count(1)
        self._lock = threading.RLock()
        self._server = WsgiServer(self._wsgi)
        self.base_url = self._server.base_url

    def close(self) -> None:
        self._server.stop()

    # --- the people on the other side ---------------------------------------------------

    def user(self, user_id: int, first_name: str, language_code: str = "zh-hans") -> ChatUser:
        with self._lock:
            self.chats.setdefault(user_id, Chat(user_id, "private", first_name))
        return ChatUser(self, user_id, first_name, language_code)

    def group(self, chat_id: int, title: str) -> Chat:
        with self._lock:
            return self.chats.setdefault(chat_id, Chat(chat_id, "supergroup", title))

    def deliver(self, update: dict[str, Any], secret: str | None = None) -> int:
        """POST one update to the webhook as Telegram does; returns the HTTP status."""
        url = self.webhook["url"]
        if not url:
            raise RuntimeError("no webhook set: run `pingan telegram setup` first")
        token = self.webhook["secret_token"] if secret is None else secret
        headers = {SECRET_HEADER: token} if token else {}
        reply = requests.post(url, json=update, headers=headers, timeout=30)
        with self._lock:
            self.deliveries.append((update, reply.status_code))
            if reply.status_code != 200:
                self.webhook["last_error_date"] = int(self.clock.now().timestamp())
                self.webhook["last_error_message"] = (
                    f"Wrong response from the webhook: {reply.status_code}"
                )
        return reply.status_code

    def next_update_id(self) -> int:
        return next(self._update_ids)

    def new_query_id(self, chat_id: int) -> str:
        with self._lock:
            query_id = f"{next(self._queries):019d}"
            self.callbacks[query_id] = None
            self._query_chats[query_id] = chat_id
            return query_id

    # --- the Bot API ----------------------------------------------------------------------

    def _wsgi(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        match = re.fullmatch(r"/bot([^/]+)/([A-Za-z]+)", request.path)
        try:
            if match is None:
                raise ApiRefusal(404, "Not Found")
            if match.group(1) != self.token:
                raise ApiRefusal(401, "Unauthorized")
            method = getattr(self, f"_m_{match.group(2)}", None)
            if method is None:
                raise ApiRefusal(404, "Not Found")
            with self._lock:
                result = method(_params(request))
            body = {"ok": True, "result": result}
            status = 200
        except ApiRefusal as refusal:
            body = {"ok": False, "error_code": refusal.code, "description": refusal.description}
            status = refusal.code
        response = Response(
            json.dumps(body, ensure_ascii=False), status, mimetype="application/json"
        )
        return response(environ, start_response)

    def _chat(self, raw: Any) -> Chat:
        chat_id = _int_param(raw, "chat_id")
        chat = self.chats.get(chat_id)
        if chat is None:
            raise _bad("chat not found")
        if chat.blocked:
            raise ApiRefusal(403, "Forbidden: bot was blocked by the user")
        return chat

    def _m_sendMessage(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._chat(params.get("chat_id"))
        text = params.get("text")
        if not isinstance(text, str) or not text.strip():
            raise _bad("message text is empty")
        parse_mode = params.get("parse_mode")
        shown = _parsed_text(text, parse_mode)
        if len(shown) > MAX_TEXT:
            raise _bad("message is too long")
        markup = _markup(params.get("reply_markup"))
        message = Message(
            chat.id, next(self._message_ids), shown, markup, parse_mode, True, self._now()
        )
        chat.messages.append(message)
        labels = [label for label, _ in message.buttons()]
        chat.log.append(f"bot: {shown}" + (f"  [{' | '.join(labels)}]" if labels else ""))
        return message.as_update(chat.shaped())

    def _m_editMessageReplyMarkup(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._chat(params.get("chat_id"))
        message_id = _int_param(params.get("message_id"), "message_id")
        found = [m for m in chat.messages if m.message_id == message_id and m.from_bot]
        if not found:
            raise _bad("message to edit not found")
        markup = _markup(params.get("reply_markup")) or None
        message = found[0]
        if (message.markup or None) == markup:
            raise _bad(
                "message is not modified: specified new message content and reply markup are"
                " exactly the same as a current content and reply markup of the message"
            )
        message.markup = markup
        return message.as_update(chat.shaped())

    def _m_answerCallbackQuery(self, params: dict[str, Any]) -> bool:
        query_id = params.get("callback_query_id")
        if query_id not in self.callbacks or query_id in self.answered:
            raise _bad("query is too old and response timeout expired or query ID is invalid")
        text = params.get("text")
        if text is not None and (not isinstance(text, str) or len(text) > MAX_TOAST):
            raise _bad("MESSAGE_TOO_LONG")
        self.answered.add(str(query_id))
        self.callbacks[str(query_id)] = text
        chat = self.chats.get(self._query_chats.get(str(query_id), 0))
        if chat is not None and text:
            chat.log.append(f"bot (toast): {text}")
        return True

    def _m_setWebhook(self, params: dict[str, Any]) -> bool:
        url = params.get("url") or ""
        if url:
            parts = urlsplit(url)
            loopback = parts.hostname in ("127.0.0.1", "localhost", "::1")
            if parts.scheme != "https" and not (parts.scheme == "http" and loopback):
                raise _bad("bad webhook: An HTTPS URL must be provided for webhook")
        secret = params.get("secret_token")
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", str(secret)):
            raise _bad("secret token contains unallowed characters")
        allowed = params.get("allowed_updates")
        if allowed is not None and (
            not isinstance(allowed, list) or not set(allowed) <= UPDATE_TYPES
        ):
            raise _bad("can't parse allowed_updates")
        self.webhook.update(url=url, secret_token=secret, allowed_updates=allowed)
        return True

    def _m_getWebhookInfo(self, params: dict[str, Any]) -> dict[str, Any]:
        info = {
            "url": self.webhook["url"],
            "has_custom_certificate": False,
            "pending_update_count": 0,
        }
        for key in ("allowed_updates", "last_error_date", "last_error_message"):
            if self.webhook.get(key) is not None:
                info[key] = self.webhook[key]
        return info

    def _now(self) -> int:
        return int(self.clock.now().timestamp())


@dataclass
class ChatUser:
    """A person in a private chat with the bot, played by a script."""

    double: BotApiDouble
    id: int
    first_name: str
    language_code: str

    def _from(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "is_bot": False,
            "first_name": self.first_name,
            "language_code": self.language_code,
        }

    @property
    def chat(self) -> Chat:
        return self.double.chats[self.id]

    def send(self, text: str, secret: str | None = None) -> int:
        """Type ``text`` and send it; returns the webhook's HTTP status."""
        double = self.double
        with double._lock:
            message = Message(
                self.id, next(double._message_ids), text, None, None, False, double._now()
            )
            self.chat.messages.append(message)
            self.chat.log.append(f"{self.first_name}: {text}")
            shaped = {**message.as_update(self.chat.shaped()), "from": self._from()}
            if text.startswith("/"):
                length = len(text.split(" ")[0])
                shaped["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
            update = {"update_id": double.next_update_id(), "message": shaped}
        return double.deliver(update, secret)

    def tap(self, label: str, in_chat: Chat | None = None, under: str = "") -> int:
        """Tap the button ``label`` of the latest message that shows one (and whose text
        contains ``under``)."""
        update = self.tap_update(label, in_chat, under)
        return self.double.deliver(update)

    def tap_update(
        self, label: str, in_chat: Chat | None = None, under: str = ""
    ) -> dict[str, Any]:
        """The update a tap on ``label`` sends (kept, to deliver it again)."""
        chat = in_chat or self.chat
        for message in reversed(chat.messages):
            if under not in message.text:
                continue
            for text, data in message.buttons():
                if text == label:
                    chat.log.append(f"{self.first_name} taps 「{label}」")
                    return self.press_update(message, data, chat)
        raise LookupError(f"no button {label!r} in chat {chat.id}")

    def press_update(self, message: Message, data: str, chat: Chat | None = None) -> dict[str, Any]:
        chat = chat or self.chat
        return {
            "update_id": self.double.next_update_id(),
            "callback_query": {
                "id": self.double.new_query_id(chat.id),
                "from": self._from(),
                "message": message.as_update(chat.shaped()),
                "chat_instance": str(-chat.id),
                "data": data,
            },
        }

    def last(self) -> Message:
        return [m for m in self.chat.messages if m.from_bot][-1]

    def buttons(self) -> list[str]:
        """The labels under the bot's latest message."""
        return [label for label, _ in self.last().buttons()]

    def transcript(self) -> list[str]:
        """The chat as read on a phone: messages with the buttons they came with, taps, and
        the short notices a tap shows."""
        return list(self.chat.log)


def _params(request: Request) -> dict[str, Any]:
    if request.is_json:
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            raise _bad("can't parse JSON")
        return body
    values: dict[str, Any] = {**request.args.to_dict(), **request.form.to_dict()}
    for key in ("reply_markup", "allowed_updates"):
        if isinstance(values.get(key), str):
            try:
                values[key] = json.loads(values[key])
            except ValueError:
                raise _bad(f"can't parse {key} JSON object") from None
    return values


def _int_param(raw: Any, name: str) -> int:
    if isinstance(raw, int) and not isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and re.fullmatch(r"-?\d{1,20}", raw):
        return int(raw)
    if raw is None:
        raise _bad(f"{name} is empty")
    raise _bad("chat not found" if name == "chat_id" else f"invalid {name}")


def _markup(raw: Any) -> dict[str, Any] | None:
    if raw is None:
        return None
    rows = raw.get("inline_keyboard") if isinstance(raw, dict) else None
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise _bad("can't parse reply keyboard markup JSON object")
    for row in rows:
        for button in row:
            if not isinstance(button, dict) or not str(button.get("text") or "").strip():
                raise _bad(
                    "can't parse inline keyboard button: Text buttons are unallowed in the"
                    " inline keyboard"
                )
            data = button.get("callback_data")
            if data is None and "url" not in button:
                raise _bad(
                    "can't parse inline keyboard button: InlineKeyboardButton must have"
                    " exactly one optional field"
                )
            if data is not None and not 1 <= len(str(data).encode()) <= MAX_CALLBACK_DATA:
                raise _bad("BUTTON_DATA_INVALID")
    return raw if rows else None


def _parsed_text(text: str, parse_mode: Any) -> str:
    """The text as shown, after Telegram parses its entities (or refuses them)."""
    if parse_mode is None:
        return text
    if parse_mode == "HTML":
        return _HtmlCheck().shown(text)
    if parse_mode in ("MarkdownV2", "Markdown"):
        return _markdown_v2(text) if parse_mode == "MarkdownV2" else text
    raise _bad(f"unsupported parse_mode {parse_mode}")


class _HtmlCheck(HTMLParser):
    """Telegram's HTML: a few tags, properly nested; ``&`` only in the four named entities
    (and numeric ones); a stray ``<`` is an error."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.stack: list[str] = []
        self.out: list[str] = []

    def shown(self, text: str) -> str:
        for match in re.finditer(r"&([^;\s]*);?", text):
            entity = match.group(1)
            if not (
                match.group(0).endswith(";")
                and re.fullmatch(r"lt|gt|amp|quot|#\d+|#x[0-9a-fA-F]+", entity)
            ):
                raise _bad(
                    f"can't parse entities: Unsupported entity at byte offset {match.start()}"
                )
        if re.search(r"<(?![a-zA-Z/])", text):
            raise _bad("can't parse entities: Unexpected end of name token")
        self.feed(text)
        self.close()
        if self.stack:
            raise _bad(
                "can't parse entities: Can't find end tag corresponding to start tag"
                f' "{self.stack[-1]}"'
            )
        return "".join(self.out)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in HTML_TAGS:
            raise _bad(f'can\'t parse entities: Unsupported start tag "{tag}"')
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            raise _bad(f'can\'t parse entities: Unmatched end tag "{tag}"')
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.out.append(data)

    def handle_entityref(self, name: str) -> None:
        self.out.append({"lt": "<", "gt": ">", "amp": "&", "quot": '"'}[name])

    def handle_charref(self, name: str) -> None:
        self.out.append(chr(int(name[1:], 16) if name.startswith("x") else int(name)))


_RESERVED = "_*[]()~`>#+-=|{}.!"


def _markdown_v2(text: str) -> str:
    """MarkdownV2: every reserved character outside an entity needs a backslash."""
    shown, escaped = [], False
    for offset, char in enumerate(text):
        if escaped:
            shown.append(char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char in "*_~`":
            continue  # formatting marks (pairing is not checked here)
        elif char in _RESERVED:
            raise _bad(
                f"can't parse entities: Character '{char}' is reserved and must be escaped with"
                f" the preceding '\\' (offset {offset})"
            )
        else:
            shown.append(char)
    return "".join(shown)
