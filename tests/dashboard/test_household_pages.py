"""Staff see households: the board marks them, the resident page lists the housemates, an
escalation names the member it is about, and exports have a household column."""

from __future__ import annotations

from tests.dashboard.pages import signed_in, text
from tests.dashboard.test_exports import csv_rows, export
from tests.helpers import add_resident, call_round, script

LANDLINE = "+8637165123456"


def test_a_couple_shows_as_a_household_on_every_page(app, people, jobs, carrier, clock) -> None:
    first = add_resident(app, "张桂兰", LANDLINE)
    add_resident(app, "李建国", LANDLINE)
    script(carrier, LANDLINE, "answer 1 365# 1 2 382# 1 2 9")
    call_round(app, jobs, carrier, clock)
    client = signed_in(app, people.supervisor)

    board = text(client.get("/residents"))
    assert "同户：张桂兰、李建国" in board
    page = text(client.get(f"/residents/{first}"))
    assert "共用这部电话" in page and "李建国" in page
    escalations = csv_rows(export(client, "escalations"))
    assert [(r["name"], r["reason"], r["household"]) for r in escalations] == [
        ("李建国", "fever", "张桂兰、李建国")
    ]
    checkins = {r["name"]: r for r in csv_rows(export(client, "checkins"))}
    assert checkins["张桂兰"]["household"] == "张桂兰、李建国"
    assert checkins["李建国"]["temperature_c"] == "38.2"
