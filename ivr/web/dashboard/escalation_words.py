"""An escalation's events (``Escalation.facts``, see ``ivr/domain/escalation_facts.py``) in the
reader's language, with the dashboard's words for call results, answers and needs: the
escalation page, its change history, the demo's summary and the group-chat alerts."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Sequence
from typing import Any

from flask_babel import gettext

from ivr.web.dashboard import labels
from ivr.web.dashboard.labels import label
from storage import AuditEntry, Escalation

Describe = Callable[[dict[str, Any], dt.tzinfo], str]


def _(msgid: str, **values: object) -> str:
    return str(gettext(msgid, **values))


def lines(escalation: Escalation, tz: dt.tzinfo) -> list[str]:
    """One line per event, oldest first."""
    return said(escalation.facts, escalation.detail, tz)


def said(facts: list[dict[str, Any]] | None, detail: str | None, tz: dt.tzinfo) -> list[str]:
    if not facts:  # nothing was ever kept as facts: the lines as written
        return (detail or "").splitlines()
    return [describe(fact, tz) for fact in facts]


def latest(facts: list[dict[str, Any]] | None, detail: str | None, tz: dt.tzinfo) -> str:
    """The newest event, for a one-line summary (a table cell, a chat post)."""
    return (said(facts[-1:] if facts else None, detail, tz) or [""])[-1]


def describe(fact: dict[str, Any], tz: dt.tzinfo) -> str:
    say = _KINDS.get(str(fact.get("kind")), _text)
    said = say(fact, tz)
    return said + _("（未确认）") if fact.get("unconfirmed") else said


def trail(escalation: Escalation, entries: Sequence[AuditEntry], tz: dt.tzinfo) -> dict[int, str]:
    """Words for the change-history entries of ``escalation``: an opening and each event added
    name the severity and that event's fact (the n-th such entry is the n-th fact; the card
    names the reason); every other entry as ``labels.audit_detail`` says it."""
    events = iter(escalation.facts or [])
    words = {}
    for entry in entries:
        fact = next(events, None) if entry.action in ("opened", "event_added") else None
        severity = _SEVERITY_SAID.match(entry.detail or "")
        if fact is None or severity is None:
            words[entry.id] = labels.audit_detail(entry.detail)
            continue
        words[entry.id] = _(
            "%(severity)s：%(what)s",
            severity=label(labels.SEVERITIES, severity[1] or severity[2]),
            what=describe(fact, tz),
        )
    return words


# How the system writes an opening ("high_fever (urgent): …") and an event ("urgent: …").
_SEVERITY_SAID = re.compile(r"(?:\w+ \((\w+)\)|(\w+)): ")


def _temperature(fact: dict[str, Any], tz: dt.tzinfo) -> str:
    return _(
        "体温 %(value)s °C（%(op)s %(limit)s °C）",
        value=fact.get("value"),
        op=fact.get("op"),
        limit=fact.get("limit"),
    )


def _rising(fact: dict[str, Any], tz: dt.tzinfo) -> str:
    value, previous = fact.get("value"), fact.get("previous")
    try:
        rise = f"{float(str(value)) - float(str(previous)):.1f}"
    except ValueError:
        return _("体温 %(value)s °C，上次 %(previous)s °C", value=value, previous=previous)
    return _(
        "体温 %(value)s °C，比上次 %(previous)s °C 升高 %(rise)s °C",
        value=value,
        previous=previous,
        rise=rise,
    )


def _answer(fact: dict[str, Any], tz: dt.tzinfo) -> str:
    key, value = str(fact.get("key")), fact.get("value")
    if isinstance(value, bool):
        said = labels.yes_no(value)
    else:
        said = label(labels.NEEDS, str(value)) if key == "needs" else str(value)
    return _("%(question)s：%(answer)s", question=label(labels.ANSWER_KEYS, key), answer=said)


def _attempts(fact: dict[str, Any], tz: dt.tzinfo) -> str:
    calls = [_call(call, tz) for call in fact.get("calls") or []]
    return _("；").join(calls) if calls else _("未能拨出电话")


def _call(call: dict[str, Any], tz: dt.tzinfo) -> str:
    at = call.get("at")
    when = (
        dt.datetime.fromisoformat(at).astimezone(tz).strftime("%H:%M") if at else call.get("local")
    )
    which = _("回拨") if call.get("inbound") else _("第 %(n)s 次", n=call.get("no"))
    what = label(labels.CALL_STATUSES, call.get("status"))
    if call.get("answered_by"):
        what += _("（%(how)s）", how=label(labels.EVENT_NAMES, call["answered_by"]))
    elif call.get("outcome"):
        what += _("（%(how)s）", how=label(labels.CALL_OUTCOMES, call["outcome"]))
    if call.get("error"):
        what += f" [{call['error']}]"
    return _("%(which)s %(when)s：%(what)s", which=which, when=when or "", what=what)


def _carrier_refused(fact: dict[str, Any], tz: dt.tzinfo) -> str:
    return _(
        "运营商无法呼叫这个号码：%(code)s %(message)s",
        code=fact.get("code") or "",
        message=fact.get("message") or "",
    ).strip()


def _text(fact: dict[str, Any], tz: dt.tzinfo) -> str:
    return str(fact.get("text", ""))


_KINDS: dict[str, Describe] = {
    "temperature": _temperature,
    "rising": _rising,
    "answer": _answer,
    "attempts": _attempts,
    "carrier_refused": _carrier_refused,
    "text": _text,
}
