"""Dashboard stories in a real browser that ``test_browser.py`` only screenshots: filtering the
five-colour board, holding and releasing residents, importing a CSV, and reading the dashboard
in English. Each story checks what the user sees and what the database then holds.

Same set-up as ``test_browser.py``: headless Debian Chromium over real HTTP to the ``server``
fixture, on the data of a real simulated round, on both databases.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from ivr.db import session_scope
from ivr.domain import orders
from storage import Answer, AuditEntry, CallAttempt, CheckIn, Community, Escalation, Resident
from tests.conftest import SHANGHAI
from tests.dashboard.browser import PHONE, fits, launch, log_in, open_page, shoot
from tests.dashboard.pages import PASSWORD, A, B, People, person
from tests.helpers import add_resident

pytestmark = pytest.mark.browser

BUILDING_1, BUILDING_3 = "建设西路12号院1号楼", "建设西路12号院3号楼"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    yield from launch()


def resident_named(app: Flask, name: str) -> Resident:
    with session_scope(app) as session:
        found = session.scalars(select(Resident).where(Resident.name == name)).one()
        session.expunge(found)
        return found


def resident_count(app: Flask) -> int:
    with session_scope(app) as session:
        return len(session.scalars(select(Resident.id)).all())


def filter_residents(page: Page, building: str, colour: str) -> None:
    """Choose a building and a colour ("" for all) in the filter form and wait for the list."""
    page.get_by_label("楼栋").select_option(building)
    page.get_by_label("状态", exact=True).select_option(colour)
    page.get_by_role("button", name="筛选").click()
    # The filters travel in the URL (a list staff can bookmark); wait for this one to load.
    wanted = {"building": [building], **({"colour": [colour]} if colour else {})}
    page.wait_for_url(lambda url: parse_qs(urlsplit(url).query) == wanted)


def test_a_staff_member_filters_the_board_by_colour_and_building_and_reads_a_fever_case(
    app: Flask, server: str, people: People, round_done: None, browser: Browser, db_kind: str
) -> None:
    # A neighbour of 李建国 in building 1, added after the round: not called yet today, so the
    # building filter alone keeps two people and only the colour tells them apart.
    add_resident(app, "陈桂兰", "+8613803710103", A, address="建设西路12号院1号楼2单元101")
    page, errors = open_page(browser, PHONE)
    log_in(page, server, people.staff_a)
    page.get_by_role("link", name="居民", exact=True).click()
    board = page.get_by_role("navigation", name="五色状态")
    expect(board.locator(".swatch.orange .count")).to_have_text("1")  # 李建国, 37.8 °C
    expect(board.locator(".swatch.green .count")).to_have_text("1")  # 王秀英
    expect(board.locator(".swatch.pending .count")).to_have_text("1")  # 陈桂兰
    names = page.locator("li.card.resident a.name")
    expect(names).to_have_count(3)

    board.locator(".swatch.orange").click()
    expect(board.locator(".swatch.orange")).to_have_class(re.compile(r"\bchosen\b"))
    expect(names).to_have_text(["李建国"])
    fever_card = page.locator("li.card.resident", has_text="李建国")
    expect(fever_card).to_have_attribute("data-colour", "orange")
    expect(fever_card.locator(".colour-label")).to_have_text("橙：发热或未接通")

    # The colour chosen on the board stays in the form, so adding the building keeps 李建国;
    # then each filter is shown to matter on its own.
    expect(page.get_by_label("状态", exact=True)).to_have_value("orange")
    filter_residents(page, BUILDING_1, "orange")
    expect(names).to_have_text(["李建国"])
    filter_residents(page, BUILDING_1, "")
    expect(names).to_have_text(["李建国", "陈桂兰"])  # the whole building, in address order
    filter_residents(page, BUILDING_3, "orange")
    expect(names).to_have_count(0)
    expect(page.locator(".empty")).to_have_text("没有符合条件的居民。")
    filter_residents(page, BUILDING_3, "green")
    expect(names).to_have_text(["王秀英"])
    shoot(page, "story-residents-filtered", PHONE, db_kind)
    assert fits(page, PHONE)

    filter_residents(page, BUILDING_1, "orange")
    page.locator("li.card.resident").get_by_role("link", name="李建国").click()
    page.wait_for_url(f"{server}/residents/{people.resident_a}")
    expect(page.locator("h1 .colour-label")).to_have_text("橙：发热或未接通")

    # The temperature chart is an inline SVG with today's reading drawn as a fever point.
    chart = page.locator("svg.chart.temperature")
    expect(chart).to_be_visible()
    expect(chart.locator("title").first).to_contain_text("李建国 的体温")
    expect(chart.locator("circle.point.fever")).to_have_count(1)
    expect(chart.locator("circle.point.fever title")).to_contain_text("37.8 °C")

    with session_scope(app) as session:
        calls = session.scalars(
            select(CallAttempt).where(CallAttempt.resident_id == people.resident_a)
        ).all()
        answers = session.scalars(
            select(Answer).where(Answer.resident_id == people.resident_a)
        ).all()
        keys = {a.key: a.value for a in answers}
    assert len(calls) == 1 and calls[0].status == "completed"
    # 37.8 °C, no symptoms, groceries: what he keyed in the round's call.
    assert keys == {"temperature_c": "37.8", "symptoms": False, "needs": "groceries"}
    call = page.locator("ul.calls > li")
    expect(call).to_have_count(1)
    expect(call).to_contain_text("已接通")
    expect(call.locator("ul.answers > li")).to_have_count(len(answers))
    expect(call.locator("ul.answers")).to_contain_text("37.8")
    expect(call.locator("ul.answers")).to_contain_text("代买生活物资")
    shoot(page, "story-resident-fever", PHONE, db_kind)
    assert fits(page, PHONE) and errors == [], errors


def act_on(page: Page, summary: str, fields: dict[str, str], button: str) -> None:
    """Open the folded form whose summary is ``summary``, fill it and send it."""
    form = page.locator("details", has=page.locator("summary", has_text=summary))
    form.locator("summary").click()
    for label, value in fields.items():
        form.get_by_label(label).fill(value)
    form.get_by_role("button", name=button).click()


def test_a_staff_member_holds_one_resident_resumes_them_and_releases_another(
    app: Flask, server: str, people: People, round_done: None, browser: Browser, db_kind: str
) -> None:
    page, errors = open_page(browser, PHONE)
    log_in(page, server, people.staff_a)
    page.goto(f"{server}/residents/{people.resident_a}")

    # 李建国 goes to hospital for observation: no calls until 5 December.
    act_on(page, "暂停呼叫", {"暂停至（含）": "2026-12-05", "原因": "住院观察"}, "暂停呼叫")
    expect(page.locator(".flash")).to_have_text("已暂停呼叫至 2026-12-05：李建国")
    facts = page.locator("dl.facts")
    expect(facts).to_contain_text("暂停呼叫至")
    expect(facts).to_contain_text("2026-12-05 住院观察")
    expect(page.locator("ol.timeline li").first).to_contain_text("赵红梅 · 暂停呼叫")
    # His fever escalation is still open: it needs a person, so he stays orange, not grey.
    expect(page.locator("h1 .colour-label")).to_have_text("橙：发热或未接通")
    held = resident_named(app, "李建国")
    assert (held.hold_until, held.hold_reason) == (dt.date(2026, 12, 5), "住院观察")
    shoot(page, "story-resident-held", PHONE, db_kind)

    page.get_by_role("button", name="恢复呼叫").click()
    expect(page.locator(".flash")).to_have_text("已恢复每日呼叫：李建国")
    expect(facts).not_to_contain_text("暂停呼叫至")
    expect(page.get_by_role("button", name="恢复呼叫")).to_have_count(0)
    resumed = resident_named(app, "李建国")
    assert (resumed.hold_until, resumed.hold_reason) == (None, None)

    # 王秀英's isolation is over.
    healthy = resident_named(app, "王秀英")
    page.goto(f"{server}/residents/{healthy.id}")
    expect(page.locator("h1 .colour-label")).to_have_text("绿：已报平安")
    act_on(page, "解除隔离", {"原因": "隔离期满"}, "解除隔离")
    expect(page.locator(".flash")).to_have_text("已解除隔离：王秀英")
    expect(page.locator("h1 .colour-label")).to_have_text("灰：解除或暂停")
    expect(facts).to_contain_text("已解除隔离")
    expect(facts).to_contain_text("隔离期满")
    expect(page.locator("summary", has_text="解除隔离")).to_have_count(0)  # cannot release twice
    shoot(page, "story-resident-released", PHONE, db_kind)
    assert fits(page, PHONE) and errors == [], errors

    released = resident_named(app, "王秀英")
    now = app.extensions["pingan.clock"].now()
    assert (released.released_at, released.release_reason) == (now, "隔离期满")
    with session_scope(app) as session:
        trail = session.execute(
            select(AuditEntry.actor, AuditEntry.action, AuditEntry.entity_id, AuditEntry.detail)
            .where(AuditEntry.entity == "resident")
            .order_by(AuditEntry.id)
        ).all()
    assert [tuple(t) for t in trail] == [
        ("赵红梅", "hold", people.resident_a, "until 2026-12-05: 住院观察"),
        ("赵红梅", "resumed", people.resident_a, "dashboard"),
        ("赵红梅", "released", healthy.id, "隔离期满"),
    ]


IMPORT = (
    "name,phone,community,address\n"
    "陈桂兰,13803710103,中原社区,建设西路12号院1号楼2单元101\n"
    "李建国,13803710102,中原社区,建设西路12号院1号楼1单元303\n"  # exists: moved next door
    "坏号码,123,中原社区,建设西路12号院5号楼\n"
    "刘德华,13803710301,祥和社区,伏牛路20号院3号楼\n"  # another community's
    "孙丽,13803710104,中原社区,\n"
)


def test_a_staff_member_imports_a_csv_and_only_the_good_rows_are_saved(
    app: Flask, server: str, people: People, browser: Browser, db_kind: str, tmp_path: Path
) -> None:
    upload = tmp_path / "居民名单.csv"
    upload.write_text(IMPORT, encoding="utf-8")
    page, errors = open_page(browser, PHONE)
    log_in(page, server, people.staff_a)  # any signed-in staff member may import
    page.get_by_role("link", name="导入").click()
    page.set_input_files("#file", str(upload))
    page.get_by_role("button", name="检查文件").click()

    expect(page.locator("h1")).to_have_text("导入预览")
    expect(page.locator(".summary")).to_have_text(
        "将新增 2 人，更新 1 人，0 人无变化，2 行有错误将跳过。"
    )
    report = page.locator("table.import-report")
    expected = {2: "create", 3: "update", 4: "error", 5: "error", 6: "create"}
    for line, action in expected.items():
        row = report.locator(f'tr[data-line="{line}"]')
        expect(row).to_have_class(f"action-{action}")
        expect(row.locator("td").first).to_have_text(str(line))
    expect(report.locator('tr[data-line="3"] .notes')).to_have_text("住址")
    expect(report.locator('tr[data-line="4"] .error')).to_have_text("电话“123”位数太少")
    expect(report.locator('tr[data-line="5"] .error')).to_have_text(
        "只能导入本社区（中原社区）的居民"
    )
    assert resident_count(app) == 2  # the preview saves nothing
    shoot(page, "story-import-preview", PHONE, db_kind)
    assert fits(page, PHONE)

    page.get_by_role("button", name="确认导入").click()
    expect(page.locator("h1")).to_have_text("导入完成")
    expect(page.locator(".summary")).to_have_text("已新增 2 人，更新 1 人，0 人无变化，跳过 2 行。")
    shoot(page, "story-import-done", PHONE, db_kind)
    assert fits(page, PHONE) and errors == [], errors

    with session_scope(app) as session:
        saved = {
            r.phone: (r.name, r.community.name, r.address)
            for r in session.scalars(select(Resident))
        }
        imported = session.execute(
            select(AuditEntry.actor, AuditEntry.entity).where(AuditEntry.action == "imported")
        ).all()
        communities = set(session.scalars(select(Community.name)))
    assert saved == {
        "+8613803710102": ("李建国", A, "建设西路12号院1号楼1单元303"),
        "+8613803710201": ("杨志强", B, "伏牛路20号院2号楼"),
        "+8613803710103": ("陈桂兰", A, "建设西路12号院1号楼2单元101"),
        "+8613803710104": ("孙丽", A, None),
    }
    assert communities == {A, B}
    assert ("赵红梅", "residents_csv") in [tuple(i) for i in imported]


SUPERVISOR_MENU = [
    "Escalations", "Orders", "Residents", "Today", "Door list", "Notices", "Import", "Call log",
    "Statistics", "Export",
]  # fmt: skip
SETTLED = {"complete": "Complete", "partial": "Partial", "missed": "Missed"}


def test_a_supervisor_reads_escalations_and_todays_rounds_in_english(
    app: Flask, server: str, people: People, round_done: None, browser: Browser, db_kind: str
) -> None:
    page, errors = open_page(browser, PHONE)
    log_in(page, server, people.supervisor)
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    page.get_by_role("link", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")

    menu = page.get_by_role("navigation", name="Main menu")
    expect(menu.get_by_role("link")).to_have_text(SUPERVISOR_MENU)
    expect(page.locator("h1")).to_have_text("Escalations")
    with session_scope(app) as session:
        open_ = session.execute(
            select(Escalation.id, Escalation.reason, Resident.name)
            .join(Resident, Resident.id == Escalation.resident_id)
            .where(Escalation.status != "resolved")
        ).all()
    reasons = {"fever": "Fever", "unreachable": "Unreachable"}
    expect(page.locator("li.card.escalation")).to_have_count(len(open_))
    for escalation_id, reason, name in open_:
        card = page.locator(f"#escalation-{escalation_id}")
        expect(card.locator(".reason")).to_have_text(reasons[reason])
        expect(card).to_contain_text(name)
        expect(card.get_by_role("button", name="Acknowledge")).to_be_visible()
        expect(card).to_contain_text("open for")
    shoot(page, "story-escalations-en", PHONE, db_kind)
    assert fits(page, PHONE)

    # The language is kept in the session: the menu leads to the Today page in English.
    menu.get_by_role("link", name="Today").click()
    expect(page.locator("h1")).to_have_text("Today's rounds")
    with session_scope(app) as session:
        statuses = session.execute(
            select(Community.name, CheckIn.status)
            .join(Resident, Resident.id == CheckIn.resident_id)
            .join(Community, Community.id == Resident.community_id)
        ).all()
    per_community: dict[str, Counter[str]] = {A: Counter(), B: Counter()}
    for name, status in statuses:
        per_community[name][status] += 1
    rounds = page.locator("li.card.round")
    expect(rounds).to_have_count(2)
    for name, counts in per_community.items():
        card = rounds.filter(has_text=name)
        total = sum(counts.values())
        expect(card).to_contain_text(f"{total} of {total} settled")
        for status, label in SETTLED.items():
            expect(card.locator(".counts")).to_contain_text(f"{label} {counts[status]}")
            segment = card.locator(f"svg.bar rect.seg.{status}")
            expect(segment).to_have_count(1 if counts[status] else 0)
            if counts[status]:
                expect(segment.locator("title")).to_have_text(f"{label}: {counts[status]}")
    shoot(page, "story-today-en", PHONE, db_kind)
    assert fits(page, PHONE) and errors == [], errors


def test_the_property_company_carries_the_door_list_up_the_stairs_on_a_phone(
    app: Flask, server: str, people: People, round_done: None, browser: Browser, db_kind: str
) -> None:
    # 李建国 (1号楼, 37.8 °C, asked for groceries) is to be visited; 王秀英's garbage is to go.
    person(app, "物业小王", "+8613903710077", people.community_a, "property")
    wang = resident_named(app, "王秀英")
    with session_scope(app) as session:
        now = app.extensions["pingan.clock"].now()
        orders.open_orders(session, session.get(Resident, wang.id), ["garbage"], now, SHANGHAI)
    page, errors = open_page(browser, PHONE)
    page.goto(f"{server}/login")
    page.fill("#phone", "13903710077")
    page.fill("#password", PASSWORD)
    page.click("button.primary")
    page.wait_for_url(f"{server}/doorlist")
    buildings = page.locator("section.building")
    expect(buildings).to_have_count(2)
    expect(buildings.nth(0)).to_contain_text(BUILDING_1)
    expect(buildings.nth(0)).to_contain_text("1单元302")
    expect(buildings.nth(0)).to_contain_text("送：代买生活物资")
    expect(buildings.nth(1)).to_contain_text(BUILDING_3)
    expect(buildings.nth(1)).to_contain_text("收垃圾")
    content = page.content()
    for secret in ("李建国", "王秀英", "37.8", "13803710102"):
        assert secret not in content, secret  # addresses, colours and order types only
    assert fits(page, PHONE)
    shoot(page, "doorlist-property", PHONE, db_kind)
    assert errors == []
