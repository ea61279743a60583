"""The dashboard in a real browser (headless Debian Chromium) over real HTTP, on the data of a
real simulated round: the stories from the issue, with screenshots of every page at phone
(360 px) and desktop (1280 px) widths in test-artifacts/screenshots/.

The round runs through the ``server`` fixture's embedded web server, which also serves the
dashboard to the browser. These run on both databases like every other test.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, expect
from sqlalchemy import select

from ivr.db import session_scope
from storage import CallAttempt, CheckIn, Escalation, ServiceOrder
from tests.dashboard.browser import DESKTOP, PHONE, fits, launch, log_in, open_page, shoot
from tests.ivr.alerting import open_escalation

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    yield from launch()


def fever_escalation(app) -> Escalation:
    with session_scope(app) as session:
        found = session.scalars(select(Escalation).where(Escalation.reason == "fever")).one()
        session.expunge(found)
        return found


def test_a_staff_member_handles_the_fever_and_the_order_from_a_phone(
    app, server, people, round_done, browser, db_kind
) -> None:
    app.config["DASHBOARD_REFRESH_MS"] = 300
    page, errors = open_page(browser, PHONE)
    log_in(page, server, people.staff_a)
    fever = fever_escalation(app)
    card = page.locator(f"#escalation-{fever.id}")
    expect(card).to_contain_text("李建国")
    expect(card).to_contain_text("发热")
    expect(card).to_contain_text("37.8 °C")
    expect(card).to_contain_text("建设西路12号院1号楼1单元302")
    shoot(page, "escalations-staff", PHONE, db_kind)

    card.get_by_role("button", name="确认").click()
    expect(page.locator(".flash")).to_contain_text("已确认：李建国（发热）")
    expect(page.locator(f"#escalation-{fever.id}")).to_contain_text("赵红梅 已确认")
    assert fever_escalation(app).acknowledged_by == "赵红梅"

    card = page.locator(f"#escalation-{fever.id}")
    card.locator("summary", has_text="解决").click()
    card.get_by_label("处理结果").select_option("called_back")
    card.get_by_label("备注").fill("电话回访，已服退烧药")
    card.get_by_role("button", name="标记为已解决").click()
    expect(page.locator(".flash")).to_contain_text("已解决：李建国（发热）")
    expect(page.locator(f"#escalation-{fever.id}")).to_have_count(0)
    done = fever_escalation(app)
    assert (done.status, done.outcome, done.resolved_by) == ("resolved", "called_back", "赵红梅")
    assert done.note == "电话回访，已服退烧药"

    page.get_by_role("link", name="订单").click()
    order = page.locator("li.order", has_text="李建国")
    expect(order).to_contain_text("代买生活物资")
    shoot(page, "orders-staff", PHONE, db_kind)
    order.get_by_role("button", name="接单").click()
    expect(page.locator("li.order", has_text="李建国")).to_contain_text("赵红梅 已接单")
    page.locator("li.order", has_text="李建国").get_by_role("button", name="已送达").click()
    expect(page.locator(".flash")).to_contain_text("已送达：李建国")
    with session_scope(app) as session:
        delivered = session.scalars(select(ServiceOrder)).one()
        assert (delivered.status, delivered.taken_by, delivered.delivered_by) == (
            "delivered", "赵红梅", "赵红梅"
        )  # fmt: skip
    assert fits(page, PHONE) and errors == []


def test_the_escalation_list_refreshes_itself(app, server, people, browser) -> None:
    app.config["DASHBOARD_REFRESH_MS"] = 300
    page, errors = open_page(browser, PHONE)
    log_in(page, server, people.staff_a)
    expect(page.locator("#escalation-list")).to_contain_text("目前没有待处理的预警")
    page.evaluate("window.marker = 'same page'")
    escalation_id = open_escalation(app, people.resident_a)
    expect(page.locator(f"#escalation-{escalation_id}")).to_contain_text("高热", timeout=5000)
    assert page.evaluate("window.marker") == "same page"  # no reload happened
    assert errors == []


def test_a_staff_member_of_another_community_cannot_see_it(
    app, server, people, round_done, browser, db_kind
) -> None:
    page, errors = open_page(browser, PHONE)
    log_in(page, server, people.staff_b)
    expect(page.locator("#escalation-list")).to_contain_text("杨志强")  # their own: unreachable
    expect(page.locator("#escalation-list")).not_to_contain_text("李建国")
    fever = fever_escalation(app)
    for path in (f"/escalations/{fever.id}", f"/residents/{people.resident_a}"):
        response = page.goto(f"{server}{path}")
        assert response is not None and response.status == 404
        expect(page.locator("h1")).to_have_text("找不到该页面")
        expect(page.locator("body")).not_to_contain_text("李建国")
    shoot(page, "not-found-other-community", PHONE, db_kind)
    assert errors == [] or all("404" in e for e in errors)


def test_a_supervisor_reads_the_call_log_and_exports_matching_csv(
    app, server, people, round_done, browser, db_kind
) -> None:
    page, errors = open_page(browser, DESKTOP)
    log_in(page, server, people.supervisor)
    page.get_by_role("link", name="通话记录").click()
    with session_scope(app) as session:
        attempts = session.scalars(select(CallAttempt).order_by(CallAttempt.id)).all()
    expect(page.locator("tr[data-call]")).to_have_count(len(attempts))
    fever_call = next(a for a in attempts if a.phone == "+8613803710102")
    page.locator(f'tr[data-call="{fever_call.id}"] a').click()
    expect(page.locator(".sid")).to_have_text(fever_call.call_sid or "")
    timeline = page.locator(".call-timeline")
    for step in ("振铃", "接听", "378", "已接通"):
        expect(timeline).to_contain_text(step)
    shoot(page, "call-detail", DESKTOP, db_kind)

    page.get_by_role("link", name="导出").click()
    page.select_option("#kind", "checkins")
    page.fill("#from", "2026-11-28")
    page.fill("#to", "2026-11-28")
    with page.expect_download() as download:
        page.get_by_role("button", name="下载").click()
    body = download.value.path().read_bytes()
    assert download.value.suggested_filename == "pingan-checkins-2026-11-28-2026-11-28.csv"
    lines = io.StringIO(body.decode("utf-8-sig"))
    lines.readline()  # the header in the viewer's language; the codes follow
    rows = list(csv.DictReader(lines))
    with session_scope(app) as session:
        stored = session.scalars(select(CheckIn).order_by(CheckIn.id)).all()
        expected = {
            str(c.id): (c.resident.name, c.status, str(float(c.temperature_c or 0) or ""))
            for c in stored
        }
    got = {r["id"]: (r["name"], r["status"], r["temperature_c"]) for r in rows}
    assert got == {k: (n, s, "" if t in ("0.0", "") else t) for k, (n, s, t) in expected.items()}
    assert errors == []


PAGES = [
    ("escalations", "/escalations"),
    ("escalation", "/escalations/{fever}"),
    ("orders", "/orders"),
    ("residents", "/residents"),
    ("residents-community", "/residents?community={community}"),
    ("resident", "/residents/{resident}"),
    ("resident-edit", "/residents/{resident}/edit"),
    ("today", "/today"),
    ("import", "/import"),
    ("calls", "/calls"),
    ("call", "/calls/{call}"),
    ("stats", "/stats"),
    ("export", "/export"),
    ("admin-staff", "/admin/staff"),
    ("admin-communities", "/admin/communities"),
    ("admin-settings", "/admin/settings"),
    ("residents-en", "/residents?lang=en"),
]


@pytest.mark.parametrize("width", [PHONE, DESKTOP])
def test_every_page_fits_the_screen_and_is_saved_as_a_screenshot(
    app, server, people, round_done, browser, width, db_kind
) -> None:
    with session_scope(app) as session:
        call = session.scalars(
            select(CallAttempt.id).where(CallAttempt.phone == "+8613803710102")
        ).first()
    ids = {
        "fever": fever_escalation(app).id,
        "resident": people.resident_a,
        "call": call,
        "community": people.community_a,
    }
    page, errors = open_page(browser, width)
    page.goto(f"{server}/login")
    shoot(page, "login", width, db_kind)
    log_in(page, server, people.admin)
    for name, path in PAGES:
        response = page.goto(server + path.format(**ids))
        assert response is not None and response.status == 200, path
        shoot(page, name, width, db_kind)
        assert fits(page, width), f"{path} is wider than {width} px"
    page.goto(f"{server}/import?lang=zh_CN")  # the last page switched to English
    rows = "name,phone,community\n新居民,13803719999,中原社区\n坏号码,123,中原社区\n"
    upload = {"name": "residents.csv", "mimeType": "text/csv", "buffer": rows.encode()}
    page.set_input_files("#file", files=[upload])
    page.get_by_role("button", name="检查文件").click()
    expect(page.locator(".summary")).to_contain_text("将新增 1 人")
    shoot(page, "import-preview", width, db_kind)
    page.goto(f"{server}/residents?community={people.community_a}")
    assert errors == [], errors
    expect(page.locator(".swatch.green .count")).to_have_text("1")  # 王秀英 checked in


def on_screen(page, selector: str, width: int) -> bool:
    box = page.locator(selector).bounding_box()
    return box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width


KEY_COLUMNS = [
    ("/calls", ("状态", "结果")),
    ("/residents/{resident}", ("状态", "需求")),
]


def test_on_a_phone_every_table_shows_its_key_columns_and_no_tab_breaks_a_word(
    app, server, people, round_done, browser, db_kind
) -> None:
    page, errors = open_page(browser, PHONE)
    log_in(page, server, people.admin)
    for path, headers in KEY_COLUMNS:
        page.goto(server + path.format(resident=people.resident_a))
        expect(page.locator("table tbody tr").first).to_be_visible()
        for header in headers:
            cell = f"table th:text-is('{header}')"
            assert on_screen(page, cell, PHONE), f"{header} off screen on {path}"
    for lang in ("zh_CN", "en"):
        page.goto(f"{server}/admin/staff?lang={lang}")
        tabs = page.locator("nav.tabs a")
        expect(tabs.first).to_be_visible()
        wrapped = page.evaluate(
            """[...document.querySelectorAll('nav.tabs a')].filter(a => {
                 const line = parseFloat(getComputedStyle(a).lineHeight);
                 const box = a.getBoundingClientRect();
                 return box.height > 2 * line || box.right > window.innerWidth;
               }).map(a => a.textContent)"""
        )
        assert wrapped == [], f"{lang}: {wrapped}"
    assert errors == []
