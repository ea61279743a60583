"""Which answers need a person: the escalation rules, as pure functions of answers and thresholds.

The temperature rules use thresholds from settings; other rules come from the flow file's
``[[escalations]]`` tables. ``findings`` returns what should be open; storing and de-duplicating
them is the caller's job.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from callflows.flow import Flow

UNCONFIRMED = "unconfirmed"  # how a finding from a reading that was never confirmed says so


@dataclass(frozen=True)
class Thresholds:
    fever_c: Decimal = Decimal("37.3")
    high_fever_c: Decimal = Decimal("38.5")
    low_c: Decimal = Decimal("35.0")
    rising_delta_c: Decimal = Decimal("0.5")
    rising_from_c: Decimal = Decimal("37.0")


@dataclass(frozen=True)
class Finding:
    reason: str
    severity: str
    detail: str  # in English, for logs and the CLI
    # The same as data, for screens that say it in their reader's words: {"kind": "temperature",
    # "value": "38.5", "op": ">=", "limit": "38.5"}, {"kind": "rising", "value", "previous"},
    # {"kind": "answer", "key": "symptoms", "value": true}; "unconfirmed": true when so.
    fact: dict[str, Any] = field(default_factory=dict)


def temperature_findings(
    value: Decimal, previous: Decimal | None, limits: Thresholds
) -> list[Finding]:
    """Fever, high fever (instead of fever), low temperature, and a rise since last time."""
    found: list[Finding] = []
    if value >= limits.high_fever_c:
        found.append(_threshold("high_fever", "urgent", value, "≥", limits.high_fever_c))
    elif value >= limits.fever_c:
        found.append(_threshold("fever", "high", value, "≥", limits.fever_c))
    elif value < limits.low_c:
        found.append(_threshold("low_temperature", "high", value, "<", limits.low_c))
    if (
        previous is not None
        and value >= limits.rising_from_c
        and value - previous >= limits.rising_delta_c
    ):
        found.append(
            Finding(
                "rising_temperature",
                "high",
                f"{value} °C, up {value - previous} °C from {previous} °C",
                {"kind": "rising", "value": str(value), "previous": str(previous)},
            )
        )
    return found


def _threshold(reason: str, severity: str, value: Decimal, op: str, limit: Decimal) -> Finding:
    fact = {"kind": "temperature", "value": str(value), "op": op, "limit": str(limit)}
    return Finding(reason, severity, f"{value} °C {op} {limit} °C", fact)


def answer_findings(flow: Flow, key: str, value: Any) -> list[Finding]:
    """The flow file's own rules that fire for one stored answer."""
    found = []
    for rule in flow.escalations:
        if rule.answer != key:
            continue
        hit = rule.equals in value if isinstance(value, list) else value == rule.equals
        if hit:
            fact = {"kind": "answer", "key": key, "value": rule.equals}
            found.append(Finding(rule.reason, rule.severity, f"{key} = {_show(rule.equals)}", fact))
    return found


def findings(
    flow: Flow,
    answers: Iterable[tuple[str, Any]],
    previous_temperature: Decimal | None,
    limits: Thresholds,
    unconfirmed: Collection[str] = (),
) -> list[Finding]:
    """Every finding for a batch of answers just keyed in one turn of a call.

    An answer named in ``unconfirmed`` (keyed, never confirmed at its read-back) is judged like
    any other, and its findings say it was not confirmed."""
    vitals: Mapping[str, str | None] = {s.answer: s.vital for s in flow.steps.values() if s.answer}
    found: list[Finding] = []
    for key, value in answers:
        batch: list[Finding] = []
        if vitals.get(key) == "temperature" and value is not None:
            batch += temperature_findings(Decimal(str(value)), previous_temperature, limits)
        batch += answer_findings(flow, key, value)
        if key in unconfirmed:
            batch = [
                replace(f, detail=f"{f.detail} ({UNCONFIRMED})", fact={**f.fact, UNCONFIRMED: True})
                for f in batch
            ]
        found += batch
    return found


def _show(value: Any) -> str:
    if value is True:
        return "yes"
    if value is False:
        return "no"
    return str(value)
