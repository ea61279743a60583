"""Staff see households: the board marks them, the resident page lists the housemates, an
escalation names the member it is about, and exports have a household column."""

from __future__ import annotations

import json

from click.testing import CliRunner

from ivr.cli import Pingan, cli
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


def test_an_order_from_a_household_call_names_the_household(
    app, people, jobs, carrier, clock
) -> None:
    address = "建设西路12号院5号楼1单元101"
    add_resident(app, "周桂英", LANDLINE, address=address)
    add_resident(app, "吴国强", LANDLINE, address=address)
    # She is feverish; the household wants groceries and its garbage taken.
    script(carrier, LANDLINE, "answer 1 382# 1 1 366# 1 2 1 4 9")
    call_round(app, jobs, carrier, clock)
    staff = signed_in(app, people.staff_a)

    orders = text(staff.get("/orders"))
    assert orders.count("同户：周桂英、吴国强") == 2  # each order: the household's need
    [door] = [d for d in doors_of(text(staff.get("/doorlist"))) if "周桂英" in d]
    assert "周桂英、吴国强" in door  # one door for the household, not one per member
    assert 'data-colour="orange"' in door and "收垃圾" in door  # her fever, their garbage

    result = CliRunner().invoke(cli, ["orders", "--json"], obj=Pingan(app=app))
    households = {(r["name"], r["need"]): r["household"] for r in json.loads(result.output)}
    assert households[("周桂英", "groceries")] == "周桂英、吴国强"
    assert households[("周桂英", "garbage")] == "周桂英、吴国强"


def doors_of(page: str) -> list[str]:
    return page.split('class="card door')[1:]
