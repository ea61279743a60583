"""Every answer is kept the moment it is keyed, whichever question the resident hangs up at.

A temperature keyed but never confirmed at the read-back is a reading all the same: stored as
unconfirmed, judged by the fever rules, and shown as unconfirmed wherever staff read it.
"""

from __future__ import annotations

import csv
import io
import json

import pytest
from click.testing import CliRunner
from flask import Flask
from sqlalchemy import select

from ivr import flow_of, settings_of
from ivr.cli import Pingan, cli
from ivr.db import session_scope
from ivr.domain.reports import checkin_rows, escalation_rows
from storage import Answer, CheckIn, Resident
from tests.dashboard.pages import make_people, post, signed_in, text
from tests.helpers import call_round, script
from tests.ivr.alerting import staff_member

pytestmark = pytest.mark.both_carriers

PHONE = "+8613803710102"  # 李建国 of make_people


def the_checkin(app: Flask) -> dict[str, object]:
    with session_scope(app) as session:
        rows = checkin_rows(session, settings_of(app).tz, flow=flow_of(app))
    (row,) = [r for r in rows if r["phone"] == PHONE]
    return row


def open_reasons(app: Flask) -> dict[str, str]:
    with session_scope(app) as session:
        rows = escalation_rows(session, settings_of(app).tz)
    return {str(r["reason"]): str(r["detail"]) for r in rows if r["phone"] == PHONE}


def test_a_resident_who_keys_38_5_and_hangs_up_lands_on_the_escalation_list_with_high_fever(
    app, jobs, carrier, clock
) -> None:
    make_people(app)
    script(carrier, PHONE, "answer 1 385# hangup")
    call_round(app, jobs, carrier, clock)
    row = the_checkin(app)
    assert row["status"] == "partial"
    assert row["temperature_c"] == 38.5 and row["temperature_confirmed"] is False
    assert row["attempts"] == 1
    reasons = open_reasons(app)
    assert set(reasons) == {"high_fever"}  # and no no_response
    assert "unconfirmed" in reasons["high_fever"]
    with session_scope(app) as session:
        query = select(Answer.key, Answer.value, Answer.confirmed).join(Resident)
        stored = session.execute(query.where(Resident.phone == PHONE)).all()
    assert [tuple(a) for a in stored] == [("temperature_c", "38.5", False)]


def test_a_confirmed_reading_is_shown_as_confirmed(app, jobs, carrier, clock) -> None:
    make_people(app)
    script(carrier, PHONE, "answer 1 385# 1 2 9")
    call_round(app, jobs, carrier, clock)
    row = the_checkin(app)
    assert row["status"] == "complete" and row["temperature_confirmed"] is True


@pytest.mark.parametrize(
    ("behaviour", "kept"),
    [
        ("answer 1 365# 1 hangup", {"temperature": "36.5", "confirmed": True}),
        ("answer 1 365# 1 1 hangup", {"temperature": "36.5", "symptoms": True}),
        ("answer 1 365# 1 2 2 hangup", {"symptoms": False, "needs": ["medicine"]}),
        ("answer 1 372# - - 1 hangup", {"temperature": "37.2", "confirmed": False}),
    ],
)
def test_hanging_up_at_any_question_keeps_what_was_keyed_before(
    app, jobs, carrier, clock, behaviour: str, kept: dict[str, object]
) -> None:
    make_people(app)
    script(carrier, PHONE, behaviour)
    call_round(app, jobs, carrier, clock)
    with session_scope(app) as session:
        query = select(CheckIn).join(Resident).where(Resident.phone == PHONE)
        checkin = session.scalars(query).one()
        found = {
            "temperature": str(checkin.temperature_c),
            "confirmed": checkin.temperature_confirmed,
            "symptoms": checkin.symptoms,
            "needs": checkin.needs,
        }
    assert {k: found[k] for k in kept} == kept
    assert checkin.status == "partial"


def test_staff_see_the_reading_as_unconfirmed_on_the_resident_page_the_cli_and_exports(
    app, jobs, carrier, clock
) -> None:
    people = make_people(app)
    script(carrier, PHONE, "answer 1 385# hangup")
    call_round(app, jobs, carrier, clock)
    page = text(signed_in(app, people.staff_a).get(f"/residents/{people.resident_a}"))
    assert "38.5 °C（未确认）" in page
    table = CliRunner().invoke(cli, ["checkins"], obj=Pingan(app=app))
    assert "38.5 (unconfirmed)" in table.output
    as_json = CliRunner().invoke(cli, ["checkins", "--json"], obj=Pingan(app=app))
    (mine,) = [r for r in json.loads(as_json.output) if r["phone"] == PHONE]
    assert mine["temperature_confirmed"] is False
    form = {"kind": "checkins", "format": "csv", "from": "2026-11-28", "to": "2026-11-28"}
    export = post(signed_in(app, people.supervisor), "/export", form)
    lines = io.StringIO(export.get_data().decode("utf-8-sig"))
    lines.readline()  # the header in the viewer's language; the codes follow
    rows = csv.DictReader(lines)
    (row,) = [r for r in rows if r["name"] == "李建国"]
    assert row["temperature_c"] == "38.5" and row["temperature_confirmed"] == "false"


def test_three_wrong_keys_at_the_symptoms_question_make_the_check_in_partial(
    app, jobs, carrier, clock
) -> None:
    make_people(app)
    script(carrier, PHONE, "answer 1 365# 1 5 5 5 9")
    call_round(app, jobs, carrier, clock)
    row = the_checkin(app)
    assert row["symptoms"] is None and row["temperature_c"] == 36.5
    assert row["status"] == "partial"


def test_an_unconfirmed_reading_in_a_call_that_reached_its_end_is_partial(
    app, jobs, carrier, clock
) -> None:
    make_people(app)
    script(carrier, PHONE, "answer 1 372# - - 1 2 9")
    call_round(app, jobs, carrier, clock)
    row = the_checkin(app)
    assert row["temperature_confirmed"] is False and row["status"] == "partial"


@pytest.mark.twilio_only("reads the staff text the Twilio simulator received; VMS texts are SMS's")
def test_the_staff_text_and_the_escalation_card_say_the_fever_was_not_confirmed(
    app, jobs, carrier, clock
) -> None:
    people = make_people(app)
    staff_member(app, "孙丽", "+8613903710021")
    script(carrier, PHONE, "answer 1 385# hangup")
    call_round(app, jobs, carrier, clock)
    jobs.send_alerts()
    texts = [m.body for m in carrier.messages if m.to == "+8613903710021"]
    assert texts and "体温 38.5℃（未确认）" in texts[0]
    page = text(signed_in(app, people.staff_a).get("/escalations"))
    assert "38.5 °C（未确认）" in page
