"""A deployment's own multi-choice question keeps every value the resident keyed, in the CLI's
JSON, the dashboard's export and the API alike (not just the last one)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from callflows import BUILTIN_FLOW
from ivr.cli import Pingan, cli
from tests.dashboard.pages import FEVER, signed_in
from tests.dashboard.test_api import get, token_for
from tests.dashboard.test_exports import csv_rows, export
from tests.helpers import call_round, script

EXAMPLE = BUILTIN_FLOW.parent / "examples" / "checkin_with_medicine.toml"
YES_NO_MEDICINE = '''[steps.medicine]
type = "yes_no"
answer = "medicine_enough"
prompt = "ask_medicine"
next = "needs"'''
MEDICINES_MENU = '''[steps.medicine]
type = "multi"
answer = "medicines_short"
prompt = "ask_medicine"
more = "needs_more"
options = { "1" = "insulin", "2" = "blood_pressure", "3" = "heart" }
done_key = "9"
next = "needs"'''


@pytest.fixture
def settings_overrides(tmp_path: Path) -> dict[str, Any]:
    text = EXAMPLE.read_text(encoding="utf-8")
    assert YES_NO_MEDICINE in text
    text = text.replace(YES_NO_MEDICINE, MEDICINES_MENU).replace(
        'answer = "medicine_enough"\nequals = false', 'answer = "medicines_short"\nequals = "heart"'
    )
    flow = tmp_path / "medicines.toml"
    flow.write_text(text, encoding="utf-8")
    return {"flow_file": str(flow)}


def test_every_medicine_a_resident_is_short_of_is_kept(app, people, jobs, carrier, clock) -> None:
    # 37.8 °C, no symptoms, short of insulin and blood-pressure pills, needs groceries.
    script(carrier, FEVER, "answer 1 378# 1 2 1 2 9 1 9")
    call_round(app, jobs, carrier, clock)
    short = ["insulin", "blood_pressure"]

    result = CliRunner().invoke(cli, ["checkins", "--json"], obj=Pingan(app=app))
    (row,) = [r for r in json.loads(result.output) if r["name"] == "李建国"]
    assert row["answers"]["medicines_short"] == short
    assert row["answers"]["needs"] == ["groceries"]

    exported_rows = csv_rows(export(signed_in(app, people.supervisor), "checkins"))
    (exported,) = [r for r in exported_rows if r["name"] == "李建国"]
    assert exported["answer:medicines_short"] == "insulin;blood_pressure"

    token = token_for(app, people.staff_a)
    (item,) = get(app, "/api/v1/checkins?date=2026-11-28", token).json["items"]
    assert item["answers"]["medicines_short"] == short
