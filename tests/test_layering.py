"""Imports go one way: callflows (pure) ← ivr (Flask, twilio) → storage (SQLAlchemy only)."""

from __future__ import annotations

from pathlib import Path

from tests.callflows.test_callflows_are_pure import imported_modules

ROOT = Path(__file__).parents[1]


def offenders(package: str, forbidden: tuple[str, ...]) -> dict[str, list[str]]:
    found = {}
    for path in (ROOT / package).rglob("*.py"):
        bad = sorted(m for m in imported_modules(path) if m.split(".")[0] in forbidden)
        if bad:
            found[str(path.relative_to(ROOT))] = bad
    return found


def test_storage_never_imports_the_app_flask_or_twilio() -> None:
    assert offenders("storage", ("ivr", "callflows", "flask", "twilio", "werkzeug")) == {}


def test_nothing_imports_the_benchmarks_or_the_tests() -> None:
    assert offenders("ivr", ("bench", "tests")) == {}
    assert offenders("callflows", ("bench", "tests")) == {}
