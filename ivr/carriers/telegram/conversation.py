"""A check-in as a chat: offered at the round's time, answered with buttons or typed values.

It runs the call's flow through the call's engine (``callflows.advance``), one button or typed
value per event, and its answers go through ``ivr.domain.answers.apply_answers`` like every
channel's:
the same check-in columns, escalations and service orders. The phone call waits
``PINGAN_TELEGRAM_GRACE`` (the check-in's ``next_attempt_at`` is moved on when the chat is
offered); a check-in that ends with a temperature is closed, so that call never happens.
Whatever the chat did not settle, the call still does: nobody drops out of a round.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session, contains_eager

from callflows import Answered, DialEnded, Flow, Keys, Transfer, Transition, advance
from callflows.engine import FlowState, skipped_by
from ivr.carriers.telegram import chat, members
from ivr.carriers.telegram.client import BotApi, TelegramError
from ivr.carriers.telegram.linking import household_chats, resident_chat
from ivr.carriers.telegram.members import SOURCE
from ivr.carriers.telegram.texts import word
from ivr.config import Settings
from ivr.domain import households
from ivr.domain.alerts import release_held
from ivr.domain.answers import apply_answers
from storage import CheckIn, Resident, TelegramCheckIn, TelegramLink, TelegramMember

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ChatEnv:
    flow: Flow
    settings: Settings
    now: dt.datetime
    api: BotApi


def offer_round(session: Session, round_id: int, settings: Settings, now: dt.datetime) -> int:
    """Offer the round's check-ins by chat to residents linked to Telegram, at each one's due
    time; their call moves ``PINGAN_TELEGRAM_GRACE`` later. Where that would be after the
    calling window closes, the call stays where it is (the chat would only delay it). The
    members of a household linked by chat get one chat check-in that asks each in turn."""
    grace = dt.timedelta(seconds=settings.telegram_grace_s)
    found = [c for c in session.scalars(_linked_checkins(round_id)) if _in_time(c, grace)]
    by_household = household_chats(session, [c.resident.phone for c in found])
    homes: dict[str, list[CheckIn]] = {}
    offered = 0
    for checkin in found:
        phone = checkin.resident.phone
        if phone in by_household:
            homes.setdefault(phone, []).append(checkin)
            continue
        chat_id = resident_chat(session, checkin.resident_id)
        if chat_id is not None:
            offered += _offer(session, [checkin], chat_id, now, grace, household=False)
    for phone, home in homes.items():
        ordered = households.in_order(home)
        offered += _offer(session, ordered, by_household[phone], now, grace, household=True)
    if offered:
        log.info("round %s: %d check-ins offered by Telegram first", round_id, offered)
    return offered


def _linked_checkins(round_id: int) -> Select[CheckIn]:
    """The round's check-ins not yet offered whose resident has a chat, their own or their
    household's. Only those are read: a round of 100,000 residents costs one query."""
    single = select(TelegramCheckIn.checkin_id).where(TelegramCheckIn.checkin_id == CheckIn.id)
    member = select(TelegramMember.checkin_id).where(TelegramMember.checkin_id == CheckIn.id)
    linked = select(TelegramLink.resident_id).where(
        TelegramLink.resident_id.is_not(None), TelegramLink.household.is_(False)
    )
    homes = (
        select(Resident.phone)
        .join(TelegramLink, TelegramLink.resident_id == Resident.id)
        .where(TelegramLink.household.is_(True))
    )
    return (
        select(CheckIn)
        .join(Resident, Resident.id == CheckIn.resident_id)
        .options(contains_eager(CheckIn.resident))
        .where(
            CheckIn.round_id == round_id,
            or_(CheckIn.resident_id.in_(linked), Resident.phone.in_(homes)),
            CheckIn.status == "pending",
            CheckIn.attempts == 0,
            CheckIn.next_attempt_at.is_not(None),
            ~single.exists(),
            ~member.exists(),
        )
        .order_by(CheckIn.id)
    )


def _in_time(checkin: CheckIn, grace: dt.timedelta) -> bool:
    due = checkin.next_attempt_at
    return due is not None and due + grace < checkin.closes_at


def _offer(
    session: Session,
    checkins: list[CheckIn],
    chat_id: int,
    now: dt.datetime,
    grace: dt.timedelta,
    *,
    household: bool,
) -> int:
    """One chat check-in for these check-ins (a household's in asking order), at the first's
    due time; every one's call waits the grace."""
    due = min(c.next_attempt_at for c in checkins if c.next_attempt_at is not None)
    talk = TelegramCheckIn(
        checkin_id=checkins[0].id,
        resident_id=checkins[0].resident_id,
        chat_id=chat_id,
        status="due",
        due_at=due,
        turn=0,
        pad="",
        created_at=now,
        updated_at=now,
    )
    session.add(talk)
    if household:
        members.add(session, talk, checkins)
    for checkin in checkins:
        checkin.next_attempt_at = due + grace
    return len(checkins)


def send_due(session: Session, env: ChatEnv, limit: int = 50) -> int:
    """Send the first message of every chat check-in whose time has come; returns how many."""
    query = (
        select(TelegramCheckIn)
        .where(TelegramCheckIn.status == "due", TelegramCheckIn.due_at <= env.now)
        .order_by(TelegramCheckIn.due_at, TelegramCheckIn.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    sent = 0
    for talk in session.scalars(query).all():
        if not _still_ours(session, talk):
            _over(talk, env.now)
            continue
        seeded = members.first_state(session, talk)
        if seeded:
            log.info("telegram check-in %s asks a household of %d", talk.id, len(seeded["members"]))
        transition = advance(env.flow, seeded, Answered())
        talk.status, talk.turn = "open", 1
        talk.flow_state = dict(transition.state)
        sent += _show(talk, env, transition)
    return sent


def _still_ours(session: Session, talk: TelegramCheckIn) -> bool:
    """No call was placed for it yet (after that, the call runs it), and it is still open (or,
    for a household, some member was answered here and the rest are the household's)."""
    return members.ours(members.of(session, talk))


def _over(talk: TelegramCheckIn, now: dt.datetime) -> None:
    talk.status, talk.updated_at = "over", now


def open_talk(session: Session, chat_id: int) -> TelegramCheckIn | None:
    """The chat check-in this chat is answering now, if any."""
    query = (
        select(TelegramCheckIn)
        .where(TelegramCheckIn.chat_id == chat_id, TelegramCheckIn.status == "open")
        .order_by(TelegramCheckIn.id.desc())
        .with_for_update()
    )
    return session.scalars(query).first()


@dataclass(frozen=True)
class Answer:
    """What to tell Telegram about a button press (``answerCallbackQuery``'s text)."""

    toast: str | None = None


def on_press(
    session: Session, env: ChatEnv, chat_id: int, press: chat.Press, message_id: int | None
) -> Answer:
    """A check-in button. One of another turn, chat or finished check-in changes nothing."""
    talk = session.get(TelegramCheckIn, press.session_id, with_for_update=True)
    lang = _lang(talk.resident if talk else None, env)
    if talk is None or talk.chat_id != chat_id:
        log.warning("telegram chat %s: button of check-in %s not theirs", chat_id, press.session_id)
        return Answer(word(lang, "stale"))
    if talk.status != "open" or press.turn != talk.turn:
        log.info(
            "telegram check-in %s: stale button (turn %s, now %s)", talk.id, press.turn, talk.turn
        )
        return Answer(word(lang, "stale"))
    if not _still_ours(session, talk):
        _over(talk, env.now)
        _send_text(env, chat_id, word(lang, "call_took_over"))
        return Answer(word(lang, "stale"))
    if press.kind == "p" and press.key != "ok":
        talk.pad = chat.pad_entry(talk.pad, press.key)
        return Answer(talk.pad or word(lang, "pad_empty"))
    if press.kind == "p":
        if not talk.pad:
            return Answer(word(lang, "pad_empty"))
        keys, talk.pad = chat.as_keys(talk.pad), ""
    else:
        keys = press.key
    _feed(session, talk, env, keys, message_id)
    return Answer()


def on_text(session: Session, env: ChatEnv, talk: TelegramCheckIn, text: str) -> None:
    """A typed message during a check-in: a reading where a number is asked, a key where a
    keypad key would do; otherwise a hint and the question again."""
    lang = _lang(talk.resident, env)
    if not _still_ours(session, talk):
        _over(talk, env.now)
        _send_text(env, talk.chat_id, word(lang, "call_took_over"))
        return
    state = FlowState.load(talk.flow_state)
    step = env.flow.steps.get(state.step or "")
    if step is not None and step.type == "number" and state.phase == "ask":
        typed = chat.typed_number(text)
        if typed.keys is None:
            _send_text(env, talk.chat_id, word(lang, typed.problem or "use_buttons"))
            return
        talk.pad = ""
        _feed(session, talk, env, typed.keys, talk.message_id)
        return
    plain = text.strip()
    if len(plain) == 1 and plain in "0123456789":
        _feed(session, talk, env, plain, talk.message_id)
        return
    _send_text(env, talk.chat_id, word(lang, "use_buttons"))
    _show(talk, env, advance(env.flow, talk.flow_state, Answered()), again=True)


def _feed(
    session: Session, talk: TelegramCheckIn, env: ChatEnv, keys: str, message_id: int | None
) -> None:
    transition = advance(env.flow, talk.flow_state, Keys(keys))
    if any(isinstance(a, Transfer) for a in transition.actions):
        # A chat cannot put a call through: the flow hears the transfer as unanswered, so it
        # keeps callback_requested and staff call the resident back.
        later = advance(env.flow, transition.state, DialEnded("failed"))
        actions = tuple(a for a in transition.actions if not isinstance(a, Transfer))
        transition = Transition(
            later.state, actions + later.actions, transition.answers + later.answers, later.outcome
        )
    talk.flow_state = dict(transition.state)
    _store(session, talk, env, transition)
    _settle(session, talk, env, transition)
    _clear_buttons(env, talk.chat_id, message_id)
    talk.turn += 1
    _show(talk, env, transition)


def _store(session: Session, talk: TelegramCheckIn, env: ChatEnv, transition: Transition) -> None:
    """Each answer goes to the member it was given for (``member``, the engine's tag in a
    household's section); the household's own (needs, a transfer) to the first member's
    check-in, as on the household call."""
    state = FlowState.load(transition.state)
    asked = {m.position: m for m in members.of(session, talk)}
    if not state.members:
        talk.checkin.reached = True
    for position in dict.fromkeys(a.member or 0 for a in transition.answers):
        given = [a for a in transition.answers if (a.member or 0) == position]
        member = asked.get(position) or asked[0]
        pairs = [(a.key, a.value) for a in given]
        unconfirmed = frozenset(a.key for a in given if not a.confirmed)
        apply_answers(
            session, member.resident, member.checkin, pairs, env.flow, env.settings, env.now,
            unconfirmed, via="chat",
        )  # fmt: skip
        log.info(
            "telegram check-in %s: %s stored for check-in %s",
            talk.id,
            ", ".join(a.key for a in given),
            member.checkin.id,
        )


def _settle(session: Session, talk: TelegramCheckIn, env: ChatEnv, transition: Transition) -> None:
    """Close what the chat answered, as a call's end would: a household member as soon as
    their section is answered (the call after the grace does not ask them again), everyone
    else when the flow ends. Without a temperature the call comes now, except for a member
    who is not at home (不在家): their call comes at the end of the grace, like the call's 7."""
    state = FlowState.load(transition.state)
    ended = transition.outcome is not None
    if ended:
        talk.status = "done"
    for member in members.of(session, talk):
        checkin = member.checkin
        if checkin.status != "pending":
            continue
        if state.members:
            done = households.progress(transition.state, member.position, answered=True)
            if not (done.finished or ended):
                continue
            checkin.reached = checkin.reached or done.reached
            finished = done.finished
        elif not ended:
            continue
        else:
            finished = state.outcome == "finished"
        checkin.finished = checkin.finished or finished
        release_held(session, checkin, env.now)
        if checkin.temperature_c is not None:
            _close(checkin, transition.state, member.position, env.now)
        elif member.position in state.away:
            log.info(
                "telegram check-in %s: check-in %s not at home; called later", talk.id, checkin.id
            )
        else:
            due = checkin.next_attempt_at
            checkin.next_attempt_at = min(due, env.now) if due else env.now
            log.info(
                "telegram check-in %s: check-in %s without a temperature; calling",
                talk.id,
                checkin.id,
            )


def _close(checkin: CheckIn, state: Mapping[str, Any], position: int, now: dt.datetime) -> None:
    complete = (
        checkin.finished and checkin.temperature_confirmed and not skipped_by(state, position)
    )
    checkin.status = "complete" if complete else "partial"
    checkin.source = SOURCE
    checkin.closed_at, checkin.next_attempt_at = now, None
    checkin.updated_at = now
    log.info("telegram: check-in %s %s by chat", checkin.id, checkin.status)


def _show(
    talk: TelegramCheckIn, env: ChatEnv, transition: Transition, *, again: bool = False
) -> int:
    """Send the turn's message with the buttons of the question it asks; 1 if it went."""
    resident = talk.resident
    lang = _lang(resident, env)
    text = chat.text_of(env.flow, transition.actions, lang, prompt_args(resident, env.settings))
    rows = chat.keyboard(env.flow, transition.state, lang, talk.id, talk.turn)
    if again:
        _clear_buttons(env, talk.chat_id, talk.message_id)
    try:
        sent = env.api.send_message(talk.chat_id, text or "…", chat.Screen(text, rows).markup())
    except TelegramError as exc:
        # The answers are kept; the resident's next message shows the question again, and the
        # call follows after the grace period whatever happens.
        log.warning("telegram check-in %s: message not sent: %s", talk.id, exc)
        return 0
    talk.message_id = _int(sent.get("message_id"))
    talk.updated_at = env.now
    return 1


def _clear_buttons(env: ChatEnv, chat_id: int, message_id: int | None) -> None:
    """The answered question's buttons go, so they cannot be pressed again by mistake."""
    if message_id is None:
        return
    try:
        env.api.edit_reply_markup(chat_id, message_id)
    except TelegramError as exc:
        log.info("telegram chat %s: old buttons not removed: %s", chat_id, exc)


def _send_text(env: ChatEnv, chat_id: int, text: str) -> None:
    try:
        env.api.send_message(chat_id, text)
    except TelegramError as exc:
        log.warning("telegram chat %s: reply not sent: %s", chat_id, exc)


def prompt_args(resident: Resident, settings: Settings) -> dict[str, str]:
    community = resident.community
    hotline = community.hotline or community.duty_phone or settings.duty_phone or ""
    return {"community": community.name, "hotline": hotline}


def _lang(resident: Resident | None, env: ChatEnv) -> str:
    lang = resident.language if resident else None
    return env.flow.catalogue.resolve_language(lang or env.settings.language)


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) else None
