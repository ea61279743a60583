"""The JSON API for other systems: bearer tokens, the same community scope as the pages, and
call records for supervisors only."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from ivr.cli import Pingan, cli
from ivr.db import session_scope
from storage import Staff
from tests.dashboard.pages import staff_row
from tests.helpers import add_resident
from tests.ivr.alerting import open_escalation


def token_for(app, phone: str) -> str:
    result = CliRunner().invoke(cli, ["staff", "token", phone], obj=Pingan(app=app))
    assert result.exit_code == 0, result.output
    return result.stdout.strip().splitlines()[0]


def get(app, url: str, token: str | None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return app.test_client().get(url, headers=headers)


def test_a_token_is_shown_once_and_only_its_hash_is_stored(app, people) -> None:
    token = token_for(app, people.staff_a)
    stored = staff_row(app, people.staff_a).api_token_hash
    assert token.startswith("pgn_") and len(token) > 40
    assert stored and token not in stored and len(stored) == 64


@pytest.mark.parametrize(
    "header", [None, "Bearer", "Bearer pgn_wrong", "Basic dXNlcjpwYXNz", "Token pgn_x"]
)
def test_requests_without_a_valid_token_are_refused(app, people, header) -> None:
    token_for(app, people.staff_a)
    headers = {"Authorization": header} if header else {}
    response = app.test_client().get("/api/v1/escalations", headers=headers)
    assert response.status_code == 401 and response.json["error"]
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_revoked_token_or_removed_staff_member_stops_working(app, people) -> None:
    token = token_for(app, people.staff_a)
    assert get(app, "/api/v1/escalations", token).status_code == 200
    result = CliRunner().invoke(
        cli, ["staff", "token", people.staff_a, "--revoke"], obj=Pingan(app=app)
    )
    assert result.exit_code == 0
    assert get(app, "/api/v1/escalations", token).status_code == 401
    token = token_for(app, people.staff_a)
    with session_scope(app) as session:
        session.scalars(select(Staff).where(Staff.phone == "+8613903710011")).one().active = False
    assert get(app, "/api/v1/escalations", token).status_code == 401


def test_escalations_are_scoped_to_the_tokens_community(app, people) -> None:
    mine = open_escalation(app, people.resident_a)
    open_escalation(app, people.resident_b)
    items = get(app, "/api/v1/escalations", token_for(app, people.staff_a)).json["items"]
    assert [e["id"] for e in items] == [mine]
    assert items[0]["name"] == "李建国" and items[0]["temperature_c"] == 39.2
    assert items[0]["opened_at"] == "2026-11-28T09:00:00+08:00"
    every = get(app, "/api/v1/escalations?status=open", token_for(app, people.supervisor))
    assert len(every.json["items"]) == 2


def test_lists_are_paged_by_id(app, people) -> None:
    for i in range(5):
        open_escalation(app, add_resident(app, f"居民{i}", f"+861380371{i:04d}", "中原社区"))
    token = token_for(app, people.staff_a)
    first = get(app, "/api/v1/escalations?limit=3", token).json
    assert len(first["items"]) == 3 and first["next_after_id"] == first["items"][-1]["id"]
    rest = get(app, f"/api/v1/escalations?limit=3&after_id={first['next_after_id']}", token).json
    assert len(rest["items"]) == 2 and rest["next_after_id"] is None


def test_checkins_and_calls_mirror_a_round(app, people, round_done) -> None:
    staff = token_for(app, people.staff_a)
    checkins = get(app, "/api/v1/checkins?date=2026-11-28", staff).json["items"]
    assert {c["name"] for c in checkins} == {"李建国", "王秀英"}
    fever = next(c for c in checkins if c["name"] == "李建国")
    assert fever["answers"]["temperature_c"] == "37.8" and fever["needs"] == ["groceries"]
    assert get(app, "/api/v1/calls", staff).status_code == 403
    calls = get(app, "/api/v1/calls?date=2026-11-28", token_for(app, people.supervisor)).json
    assert len(calls["items"]) >= 3 and all(c["call_sid"] for c in calls["items"])
    assert any(k["keys"] == "378" for c in calls["items"] for k in c["keys"])


@pytest.mark.parametrize(
    "query",
    [
        "escalations?status=closed",
        "escalations?limit=0x10",
        "escalations?limit=501",
        "escalations?after_id=-1",
        "checkins?date=today",
        "calls?date=2026-02-30",
    ],
)
def test_bad_parameters_are_refused_with_a_reason(app, people, query) -> None:
    response = get(app, f"/api/v1/{query}", token_for(app, people.supervisor))
    assert response.status_code == 400 and response.json["error"]
