"""A deployment's own flow file with an extra question, end to end: asked on the phone, stored
generically, escalated by the file's own rule, and shown in the check-ins export."""

from __future__ import annotations

import json
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask

from callflows import BUILTIN_FLOW
from ivr.cli import Pingan, cli
from tests.helpers import add_resident, script
from tests.ivr.test_checkin_call_end_to_end import call_round, checkin, escalations
from tests.ivr.test_inbound_callbacks import call_in

EXAMPLE = BUILTIN_FLOW.parent / "examples" / "checkin_with_medicine.toml"
PHONE = "+8613803710101"


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"flow_file": str(EXAMPLE)}


def test_the_medicine_question_is_asked_and_a_shortage_is_escalated(
    app, jobs, carrier, clock
) -> None:
    add_resident(app, "王秀英", PHONE)
    script(carrier, PHONE, "answer 1 365# 1 2 2 9")

    call_round(app, jobs, carrier, clock)

    (record,) = carrier.calls_to(PHONE)
    assert "您家里的药还够吃三天吗？够请按1，不够请按2。" in record.heard_text()
    row = checkin(app)
    assert row["status"] == "complete"
    assert row["answers"] == {"temperature_c": "36.5", "symptoms": False, "medicine_enough": False}
    assert escalations(app) == {"medicine_short": "high"}


def test_the_extra_answer_reaches_the_checkins_export(app: Flask, jobs, carrier, clock) -> None:
    add_resident(app, "李建国", PHONE, language="en")
    script(carrier, PHONE, "answer 1 371# 1 2 1 1 2 9")
    call_round(app, jobs, carrier, clock)

    result = CliRunner().invoke(cli, ["checkins", "--json"], obj=Pingan(app=app))

    assert result.exit_code == 0, result.output
    (row,) = json.loads(result.output)
    assert row["answers"] == {
        "temperature_c": "37.1",
        "symptoms": False,
        "medicine_enough": True,
        "needs": ["groceries", "medicine"],
    }
    assert escalations(app) == {}


def test_a_call_back_runs_the_custom_flow_too(app, server, carrier) -> None:
    add_resident(app, "张桂兰", PHONE)

    record = call_in(server, carrier, PHONE, "1 366# 1 2 2 9")

    assert "您家里的药还够吃三天吗" in record.heard_text()
    assert checkin(app)["answers"]["medicine_enough"] is False
