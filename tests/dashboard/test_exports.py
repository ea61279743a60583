"""Exports for supervisors: check-ins (with every answer), calls, escalations and orders for a
date range, as CSV that Excel opens (UTF-8 with a BOM) or as XLSX; each export is audited."""

from __future__ import annotations

import csv
import io
import re

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from ivr.db import session_scope
from storage import AuditEntry, CallAttempt, CheckIn, Escalation
from tests.dashboard.pages import person, post, signed_in, text
from tests.helpers import add_resident
from tests.ivr.alerting import open_escalation

RANGE = {"from": "2026-11-28", "to": "2026-11-28"}


def export(client, kind: str, fmt: str = "csv", **form: str):
    return post(client, "/export", {"kind": kind, "format": fmt, **RANGE, **form})


def csv_rows(response) -> list[dict[str, str]]:
    """The rows by code (the second header line; the first is in the viewer's language)."""
    body = response.get_data()
    assert body.startswith("\ufeff".encode())  # the BOM Excel needs for Chinese text
    lines = io.StringIO(body.decode("utf-8-sig"))
    lines.readline()
    return list(csv.DictReader(lines))


def test_checkins_export_matches_the_database_with_every_answer(app, people, round_done) -> None:
    response = export(signed_in(app, people.supervisor), "checkins")
    assert response.status_code == 200
    assert "pingan-checkins-2026-11-28-2026-11-28.csv" in response.headers["Content-Disposition"]
    rows = {r["id"]: r for r in csv_rows(response)}
    with session_scope(app) as session:
        stored = {str(c.id): c for c in session.scalars(select(CheckIn))}
        assert set(rows) == set(stored)
        for key, c in stored.items():
            row = rows[key]
            assert row["status"] == c.status and row["attempts"] == str(c.attempts)
            expected = "" if c.temperature_c is None else str(float(c.temperature_c))
            assert row["temperature_c"] == expected
    fever = next(r for r in rows.values() if r["name"] == "李建国")
    assert fever["answer:temperature_c"] == "37.8" and fever["answer:needs"] == "groceries"
    assert fever["needs"] == "groceries" and fever["community"] == "中原社区"


def test_calls_and_escalations_exports_match_the_database(app, people, round_done) -> None:
    client = signed_in(app, people.supervisor)
    calls = csv_rows(export(client, "calls"))
    escalations = csv_rows(export(client, "escalations"))
    with session_scope(app) as session:
        attempts = {str(a.id): a for a in session.scalars(select(CallAttempt))}
        opened = {str(e.id): e for e in session.scalars(select(Escalation))}
    assert {r["id"]: (r["call_sid"], r["status"]) for r in calls} == {
        k: (a.call_sid or "", a.status or "") for k, a in attempts.items()
    }
    assert {r["id"]: r["reason"] for r in escalations} == {k: e.reason for k, e in opened.items()}
    unreachable = next(r for r in escalations if r["reason"] == "unreachable")
    assert "no-answer" in unreachable["detail"]  # the English line programs read, as before
    assert re.fullmatch(r"第 1 次 \d\d:\d\d：无人接听.*", unreachable["detail_text"])
    fever_call = next(r for r in calls if r["name"] == "李建国")
    assert "temperature=378" in fever_call["keys"]


def test_staff_scope_and_dates_limit_the_rows(app, people, round_done) -> None:
    client = signed_in(app, people.supervisor)
    assert csv_rows(export(client, "checkins", **{"from": "2026-11-27", "to": "2026-11-27"})) == []
    person(app, "区督导", "+8613903710098", people.community_b, "supervisor")
    scoped = signed_in(app, "13903710098")
    names = {r["name"] for r in csv_rows(export(scoped, "checkins"))}
    assert names == {"杨志强"}


def test_orders_export_as_xlsx(app, people, round_done) -> None:
    response = export(signed_in(app, people.supervisor), "orders", "xlsx")
    assert response.status_code == 200 and response.mimetype.endswith("spreadsheetml.sheet")
    sheet = load_workbook(io.BytesIO(response.get_data()), read_only=True)["orders"]
    _words, header, *rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert header[:8] == ["id", "date", "community", "name", "phone", "address", "need", "status"]
    assert [(r[3], r[6], r[7]) for r in rows] == [("李建国", "groceries", "open")]


def test_every_export_is_audited_with_who_and_what(app, people) -> None:
    export(signed_in(app, people.supervisor), "escalations", "xlsx")
    with session_scope(app) as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "exported")).one()
    assert entry.actor == "周主任" and entry.detail == "escalations 2026-11-28..2026-11-28 xlsx"


def test_cells_that_look_like_formulas_are_defused(app, people) -> None:
    rid = add_resident(app, '=HYPERLINK("http://evil")', "+8613803719999", "中原社区")
    open_escalation(app, rid)
    rows = csv_rows(export(signed_in(app, people.supervisor), "escalations"))
    assert rows[0]["name"].startswith("'=") and rows[0]["phone"] == "+8613803719999"


@pytest.mark.parametrize(
    "form",
    [
        {"kind": "passwords"},
        {"kind": ""},
        {"format": "pdf"},
        {"from": "2026-11-29", "to": "2026-11-28"},
        {"from": "2020-01-01", "to": "2026-11-28"},
        {"from": "28/11/2026"},
        {"to": "x" * 500},
    ],
)
def test_a_bad_export_request_is_refused(app, people, form) -> None:
    response = post(
        signed_in(app, people.supervisor),
        "/export",
        {"kind": "checkins", "format": "csv", **RANGE, **form},
    )
    assert response.status_code == 400 and "<html" in text(response)


def test_an_xlsx_export_reads_like_a_spreadsheet_made_by_hand(app, people, round_done) -> None:
    import datetime as dt

    response = export(signed_in(app, people.supervisor), "escalations", "xlsx")
    book = load_workbook(io.BytesIO(response.get_data()))
    sheet = book["escalations"]
    words, codes, *rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert words[:3] == ["编号", "开始时间", "社区"]  # the viewer's language
    assert codes[:3] == ["id", "opened_at", "community"]  # the codes stay, one row below
    fever = next(r for r in rows if r[codes.index("reason")] == "fever")
    assert isinstance(fever[codes.index("opened_at")], dt.datetime)
    assert fever[codes.index("opened_at")] == dt.datetime(2026, 11, 28, 9, 0, 2)
    assert isinstance(fever[codes.index("temperature_c")], float)
    assert sheet.freeze_panes == "A3"
    assert sheet.column_dimensions["C"].width >= 10
    client = signed_in(app, people.supervisor)
    client.get("/today?lang=en")
    english = export(client, "orders", "xlsx")
    sheet = load_workbook(io.BytesIO(english.get_data()))["orders"]
    assert next(sheet.iter_rows(values_only=True))[:2] == ("ID", "Date")


def test_a_csv_export_has_headers_in_the_viewers_language_over_the_codes(
    app, people, round_done
) -> None:
    body = export(signed_in(app, people.supervisor), "orders").get_data().decode("utf-8-sig")
    words, codes = list(csv.reader(io.StringIO(body)))[:2]
    assert words[:4] == ["编号", "日期", "社区", "姓名"]
    assert codes[:4] == ["id", "date", "community", "name"]
