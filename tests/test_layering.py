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


CARRIER_SDKS = ("twilio", "alibabacloud_dyvmsapi20170525", "alibabacloud_dysmsapi20170525")
# The carrier packages: Twilio's seam, voice and SMS webhooks and simulator; Alibaba Cloud's.
CARRIER_MODULES = (
    "ivr/carriers/telephony.py",
    "ivr/web/voice/",
    "ivr/web/sms.py",
    "ivr/carriers/simulator/",
    "ivr/carriers/aliyun/",
)


def test_only_the_carrier_packages_import_a_carrier_sdk() -> None:
    """Rounds, dialer, settle, escalations, alerts and the dashboard never know the carrier."""
    importers = {
        str(path.relative_to(ROOT)): sorted(
            m
            for m in imported_modules(path)
            if m.split(".")[0] in CARRIER_SDKS or m.startswith("alibabacloud_")
        )
        for package in ("ivr", "callflows", "storage")
        for path in (ROOT / package).rglob("*.py")
    }
    outside = {
        path: modules
        for path, modules in importers.items()
        if modules and not path.startswith(CARRIER_MODULES)
    }
    assert outside == {}
