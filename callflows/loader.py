"""Reading a flow file: TOML in, a checked ``Flow`` out.

A flow file has a ``[flow]`` table (``name``, ``start``), one ``[steps.<name>]`` table per step,
optional ``[[escalations]]`` rules and optional ``[prompts.<lang>]`` tables that add to or
override the language catalogues. ``load_flow`` raises ``FlowError`` listing every problem with
its line, so a staff member editing the file sees all mistakes at once.
"""

from __future__ import annotations

import re
import tomllib
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from callflows.catalogue import load_catalogue
from callflows.check import check
from callflows.flow import EscalationRule, Flow, FlowError, Household, Problem, Step

BUILTIN_FLOW = Path(__file__).with_name("checkin.toml")
IDENTIFY_FLOW = Path(__file__).with_name("identify.toml")  # callers we cannot match by number
STAFF_ALERT_FLOW = Path(__file__).with_name("staff_alert.toml")  # urgent escalations, rung
RELEASE_FLOW = Path(__file__).with_name("release.toml")  # an early release no text reaches

_SCALARS = (
    "type",
    "next",
    "answer",
    "invalid",
    "readback",
    "more",
    "skip",
    "hint",
    "failed",
    "target",
    "outcome",
    "done_key",
    "on_silence",
    "on_fail",
    "vital",
)
_INTS = ("decimals", "max_tries", "silence_retries", "min_length", "max_length")
_BOOLS = ("verify",)
_MAPS = ("options", "goto", "info")
_KNOWN = frozenset({*_SCALARS, *_INTS, *_BOOLS, *_MAPS, "prompts", "prompt", "min", "max"})


def load_flow(path: str | Path | None = None) -> Flow:
    """Read and check a flow file (the built-in check-in when ``path`` is None)."""
    source = Path(path) if path else BUILTIN_FLOW
    return parse_flow(source.read_text(encoding="utf-8"), str(source))


YAML_REFUSED = "flow files are TOML, not YAML"


def parse_flow(text: str, source: str = "<string>") -> Flow:
    flow, problems = _build(text, source)
    if problems or flow is None:
        raise FlowError(problems)
    return flow


def check_flow(text: str, source: str = "<string>") -> list[Problem]:
    """Every problem in a flow file; an empty list means it can be used."""
    return _build(text, source)[1]


def _build(text: str, source: str) -> tuple[Flow | None, list[Problem]]:
    if source.lower().endswith((".yaml", ".yml")):
        # One format keeps every line number exact, and YAML's implicit types would turn
        # keypad keys (0, 08) and answers (yes, no) into numbers and booleans.
        return None, [Problem(None, f"{YAML_REFUSED} (see callflows/checkin.toml)")]
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"line (\d+)", str(exc))
        return None, [Problem(int(match.group(1)) if match else None, f"not valid TOML: {exc}")]
    lines = _LineFinder(text)
    problems: list[Problem] = []
    meta = data.get("flow", {})
    steps = {
        str(name): _step(str(name), raw, lines, problems)
        for name, raw in (data.get("steps") or {}).items()
        if isinstance(raw, dict)
    }
    extra_prompts = data.get("prompts")
    rules = [_rule(i, raw, lines, problems) for i, raw in enumerate(data.get("escalations", []))]
    flow = Flow(
        name=str(meta.get("name", Path(source).stem)),
        start=str(meta.get("start", "")),
        steps=steps,
        escalations=tuple(r for r in rules if r),
        catalogue=load_catalogue(extra_prompts if isinstance(extra_prompts, dict) else {}),
        timeout_s=_flow_int(meta, "timeout_s", 10, lines, problems),
        repeat_key=str(meta.get("repeat_key", "*")),
        max_turns=_flow_int(meta, "max_turns", 60, lines, problems),
        on_limit=meta.get("on_limit"),
        machine_prompt=str(meta.get("machine_prompt", "machine")),
        source=source,
        household=_household(data.get("household"), lines, problems),
    )
    return flow, problems + check(flow, lines.find)


def _flow_int(
    meta: dict[str, Any], key: str, default: int, lines: _LineFinder, problems: list[Problem]
) -> int:
    value = meta.get(key, default)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    problems.append(Problem(lines.find("flow", key), f"[flow] {key} must be a whole number"))
    return default


def _step(name: str, raw: dict[str, Any], lines: _LineFinder, problems: list[Problem]) -> Step:
    problems += [
        Problem(lines.find(f"steps.{name}", key), f"step '{name}': unknown setting '{key}'")
        for key in raw
        if key not in _KNOWN
    ]

    def wrong(key: str, what: str) -> None:
        problems.append(Problem(lines.find(f"steps.{name}", key), f"step '{name}': {key} {what}"))

    kwargs: dict[str, Any] = {k: str(raw[k]) for k in _SCALARS if k in raw}
    for key in (k for k in _INTS if k in raw):
        if isinstance(raw[key], int) and not isinstance(raw[key], bool):
            kwargs[key] = raw[key]
        else:
            wrong(key, "must be a whole number")
    for key in (k for k in _BOOLS if k in raw):
        if isinstance(raw[key], bool):
            kwargs[key] = raw[key]
        else:
            wrong(key, "must be true or false")
    for key in (k for k in _MAPS if k in raw):
        if isinstance(raw[key], dict):
            kwargs[key] = {str(a): str(b) for a, b in raw[key].items()}
        else:
            wrong(key, 'must be a table of keys, e.g. { "1" = "groceries" }')
    prompts = raw.get("prompts", [raw["prompt"]] if "prompt" in raw else [])
    if isinstance(prompts, list):
        kwargs["prompts"] = tuple(str(p) for p in prompts)
    else:
        wrong("prompts", 'must be a list of prompt names, e.g. ["greeting"]')
    for bound in ("min", "max"):
        if bound in raw:
            try:
                kwargs[bound] = Decimal(str(raw[bound]))
            except InvalidOperation:
                wrong(bound, "must be a number")
    kwargs.setdefault("type", "")
    return Step(name=name, **kwargs)


_HOUSEHOLD_PROMPTS = ("intro", "first", "following", "away", "only")


def _household(raw: Any, lines: _LineFinder, problems: list[Problem]) -> Household | None:
    if raw is None:
        return None
    where = lines.find("household")
    if not isinstance(raw, dict):
        problems.append(Problem(where, "[household] must be a table"))
        return None
    known = {"steps", "away_key", *_HOUSEHOLD_PROMPTS}
    problems += [
        Problem(lines.find("household", key), f"[household]: unknown setting '{key}'")
        for key in raw
        if key not in known
    ]
    steps = raw.get("steps")
    if not isinstance(steps, list) or not steps:
        problems.append(
            Problem(
                lines.find("household", "steps") or where,
                '[household] steps must list the steps asked of each member, e.g. ["temperature"]',
            )
        )
        return None
    texts = {k: str(raw[k]) for k in (*_HOUSEHOLD_PROMPTS, "away_key") if k in raw}
    return Household(steps=tuple(str(s) for s in steps), **texts)


def _rule(
    index: int, raw: dict[str, Any], lines: _LineFinder, problems: list[Problem]
) -> EscalationRule | None:
    missing = [k for k in ("reason", "answer", "equals") if k not in raw]
    if missing:
        problems.append(
            Problem(
                lines.find(f"escalations#{index}"),
                f"escalation rule {index + 1}: missing {', '.join(missing)}",
            )
        )
        return None
    return EscalationRule(
        str(raw["reason"]), str(raw["answer"]), raw["equals"], str(raw.get("severity", "high"))
    )


class _LineFinder:
    """Finds the line of a table or of a key in it, for messages staff can act on.

    ``find("steps.needs", "goto")`` is the line of ``goto = …`` in ``[steps.needs]``;
    ``find("escalations#1")`` is the second ``[[escalations]]`` header.
    """

    def __init__(self, text: str) -> None:
        self._tables: dict[str, int] = {}
        self._arrays: dict[str, list[int]] = {}
        self._keys: dict[tuple[str, str], int] = {}
        table = ""
        for number, line in enumerate(text.splitlines(), start=1):
            stripped = line.strip()
            if stripped.startswith("[["):
                table = stripped.strip("[] ")
                self._arrays.setdefault(table, []).append(number)
            elif stripped.startswith("["):
                table = stripped.strip("[] ")
                self._tables[table] = number
            elif "=" in stripped and not stripped.startswith("#"):
                key = stripped.split("=", 1)[0].strip().strip('"')
                self._keys.setdefault((table, key), number)

    def find(self, table: str, key: str | None = None) -> int | None:
        if "#" in table:
            name, _, index = table.partition("#")
            found = self._arrays.get(name, [])
            return found[int(index)] if int(index) < len(found) else None
        if key is not None and (table, key) in self._keys:
            return self._keys[(table, key)]
        if key is not None and f"{table}.{key}" in self._tables:
            return self._tables[f"{table}.{key}"]
        return self._tables.get(table)
