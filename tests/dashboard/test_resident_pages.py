"""Residents: today's colour on the five-colour board, filters, one resident's page and the
changes staff make there (edit, hold, release, resume, a check-in on their behalf)."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from sqlalchemy import select

from ivr.db import session_scope
from ivr.web.dashboard.board import COLOURS, colour, is_colour
from storage import AuditEntry, CheckIn, Resident
from tests.conftest import SHANGHAI
from tests.dashboard.pages import csrf_token, post, signed_in, text
from tests.helpers import add_resident, day_summaries_and_recomputed
from tests.ivr.alerting import open_escalation

TODAY = dt.date(2026, 11, 28)


def checkin(app, resident_id: int, status: str, celsius: str | None = None, day=TODAY) -> None:
    now = app.extensions["pingan.clock"].now()
    with session_scope(app) as session:
        session.add(
            CheckIn(
                resident_id=resident_id,
                local_date=day,
                status=status,
                closes_at=now,
                temperature_c=Decimal(celsius) if celsius else None,
                needs=[],
                created_at=now,
                updated_at=now,
            )
        )


def colours(page: str) -> dict[str, str]:
    """Resident id → colour as listed."""
    return dict(re.findall(r'data-resident="(\d+)" data-colour="(\w+)"', page))


def resident(app, resident_id: int) -> Resident:
    with session_scope(app) as session:
        found = session.get(Resident, resident_id)
        assert found is not None
        session.expunge(found)
        return found


@pytest.fixture
def board(app, people) -> dict[str, int]:
    """One resident of community A for each colour."""
    ids = {"orange": people.resident_a}
    for i, name in enumerate(("red", "yellow", "green", "grey", "pending", "fever", "missed")):
        ids[name] = add_resident(
            app, name, f"+86138037111{i:02d}", "中原社区", address=f"康桥华城{i + 1}号楼{i}单元"
        )
    open_escalation(app, ids["red"])  # urgent
    open_escalation(app, ids["orange"], "callback_requested", "high", None)
    checkin(app, ids["yellow"], "partial", "36.6")
    checkin(app, ids["green"], "missed", day=TODAY - dt.timedelta(days=1))  # yesterday
    checkin(app, ids["green"], "complete", "36.5")
    checkin(app, ids["fever"], "complete", "37.6")
    checkin(app, ids["missed"], "complete", "36.4")
    checkin(app, ids["missed"], "missed")  # the later round was missed
    with session_scope(app) as session:
        session.get(Resident, ids["grey"]).hold_until = TODAY + dt.timedelta(days=2)
    return ids


def test_each_resident_shows_todays_colour(app, people, board) -> None:
    shown = colours(text(signed_in(app, people.staff_a).get("/residents")))
    expected = {
        "red": "red", "orange": "orange", "fever": "orange", "missed": "orange",
        "yellow": "yellow", "green": "green", "grey": "grey", "pending": "pending",
    }  # fmt: skip
    assert shown == {str(board[name]): colour for name, colour in expected.items()}


def test_the_board_counts_each_colour_and_filters_by_it(app, people, board) -> None:
    client = signed_in(app, people.staff_a)
    page = text(client.get("/residents"))
    counts = dict(re.findall(r'swatch (\w+)[^"]*" href="[^"]*">\s*<span class="count">(\d+)', page))
    assert counts == {
        "red": "1", "orange": "3", "yellow": "1", "green": "1", "grey": "1", "pending": "1"
    }  # fmt: skip
    for colour_, count in counts.items():
        shown = colours(text(client.get(f"/residents?colour={colour_}")))
        assert len(shown) == int(count) and set(shown.values()) <= {colour_}, colour_


def test_a_supervisor_sees_the_districts_counts_without_choosing_a_community(
    app, people, board
) -> None:
    client = signed_in(app, people.supervisor)
    page = text(client.get("/residents"))
    counts = dict(re.findall(r'swatch (\w+)[^"]*" href="[^"]*">\s*<span class="count">(\d+)', page))
    assert list(counts) == ["red", "orange", "yellow", "green", "grey", "pending"]  # red first
    assert counts["red"] == "1" and counts["pending"] == "2"  # 杨志强 (B) too
    assert "杨志强" in page  # every community's residents are listed
    page = text(client.get(f"/residents?community={people.community_a}"))
    assert re.search(r'swatch red[^"]*" href="[^"]*">\s*<span class="count">1<', page)
    assert "杨志强" not in page


def card(page: str, resident_id: int) -> str:
    found = re.search(rf'data-resident="{resident_id}".*?</li>', page, re.S)
    assert found, resident_id
    return found.group(0)


def test_an_orange_card_says_whether_it_is_a_fever_or_an_unreached_resident(
    app, people, board
) -> None:
    page = text(signed_in(app, people.staff_a).get("/residents"))
    assert '<span class="why">发热</span>' in card(page, board["fever"])
    assert '<span class="why">未接通</span>' in card(page, board["missed"])
    assert 'class="why"' not in card(page, board["green"])
    assert "138 0371 1105" in card(page, board["fever"])  # each card has its phone


@pytest.mark.parametrize("typed", ["138 0371 1101", "+86 138 0371 1101", "138-0371-1101"])
def test_a_phone_is_found_as_the_dashboard_shows_it(app, people, board, typed) -> None:
    from urllib.parse import quote

    page = text(signed_in(app, people.staff_a).get(f"/residents?q={quote(typed)}"))
    assert list(colours(page)) == [str(board["yellow"])]


def test_released_and_resumed_residents(app, people, board) -> None:
    client = signed_in(app, people.staff_a)
    green = board["green"]
    assert post(client, f"/residents/{green}/release", {"reason": "隔离期满"}).status_code == 302
    assert resident(app, green).release_reason == "隔离期满"
    assert colours(text(client.get("/residents?colour=grey")))[str(green)] == "grey"
    response = post(client, f"/residents/{green}/release", {"reason": "again"})
    assert response.status_code == 409
    assert post(client, f"/residents/{green}/resume").status_code == 302
    assert resident(app, green).released_at is None
    assert colours(text(client.get("/residents")))[str(green)] == "green"


def test_filters_by_building_and_search(app, people, board) -> None:
    client = signed_in(app, people.staff_a)
    page = text(client.get("/residents"))
    assert '<option value="康桥华城3号楼"' in page  # buildings of the community
    shown = colours(text(client.get("/residents?building=康桥华城3号楼")))
    assert list(shown) == [str(board["green"])]
    assert list(colours(text(client.get("/residents?q=李建")))) == [str(people.resident_a)]
    assert list(colours(text(client.get("/residents?q=03711101")))) == [str(board["yellow"])]
    assert colours(text(client.get("/residents?q=100%25"))) == {}  # % is a literal


@pytest.mark.parametrize(
    "query", ["colour=purple", "community=abc", "building=" + "楼" * 201, "q=" + "x" * 51]
)
def test_bad_filters_are_refused(app, people, query) -> None:
    assert signed_in(app, people.staff_a).get(f"/residents?{query}").status_code == 400


def test_the_resident_page_has_the_temperature_chart_calls_and_escalations(
    app, people, board
) -> None:
    with session_scope(app) as session:
        found = session.get(Resident, board["fever"])
        found.isolation_start, found.isolation_days = TODAY - dt.timedelta(days=3), 14
    checkin(app, board["fever"], "complete", "36.9", day=TODAY - dt.timedelta(days=1))
    page = text(signed_in(app, people.staff_a).get(f"/residents/{board['fever']}"))
    svg = page[page.index("<svg") : page.index("</svg>")]
    assert 'class="fever-line"' in svg and "37.3 °C" in svg  # the fever threshold drawn
    assert svg.count('class="point fever"') == 1 and svg.count('class="point"') == 1
    assert "11-25" in svg and "<polyline" in svg  # the isolation period starts on the 25th
    assert "2026-11-25 — 2026-12-08" in page
    assert "橙：发热或未接通" in page


def test_editing_a_resident_saves_and_audits_the_changed_fields(app, people) -> None:
    client = signed_in(app, people.staff_a)
    form = {
        "name": "李建国", "phone": "138 0371 0102", "address": "建设西路12号院1号楼1单元303",
        "language": "zh-CN", "isolation_start": "2026-11-20", "isolation_days": "14",
        "lives_alone": "1", "emergency_contact": "13912345678", "notes": "行动不便",
        "preferred_times": "17:00；9:30",
    }  # fmt: skip
    response = post(client, f"/residents/{people.resident_a}/edit", form)
    assert response.status_code == 302
    found = resident(app, people.resident_a)
    assert found.address.endswith("303") and found.lives_alone is True
    assert found.emergency_contact == "+8613912345678" and found.isolation_days == 14
    assert found.preferred_times == "09:30,17:00"
    with session_scope(app) as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "edited")).one()
    assert entry.actor == "赵红梅" and entry.entity_id == people.resident_a
    assert "address" in entry.detail and "phone" not in entry.detail
    history = text(client.get(f"/residents/{people.resident_a}")).split("修改记录")[1]
    assert "赵红梅 · 修改 住址、" in history and "（网页）" in history
    assert "(dashboard)" not in history and "address" not in history


GOOD = {"name": "李建国", "phone": "13803710102", "language": "zh-CN", "isolation_days": "14"}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"name": ""}, "请填写姓名"),
        ({"name": "名" * 101}, "姓名最多 100 个字"),
        ({"phone": "12345"}, "电话不是有效的电话号码"),
        # 杨志强's phone and name, in B (another name on a phone joins that household)
        ({"phone": "13803710201", "name": "杨志强"}, "这个电话号码已属于另一位居民"),
        ({"language": "fr"}, "请选择有效的语言"),
        ({"isolation_start": "2026-13-01"}, "隔离开始日期不是有效日期"),
        ({"isolation_days": "abc"}, "隔离天数必须是整数"),
        ({"isolation_days": "0"}, "隔离天数必须在 1 到 365 之间"),
        ({"isolation_days": ""}, "请填写隔离天数"),
        ({"emergency_contact": "call me"}, "紧急联系人电话不是有效的电话号码"),
        ({"notes": "n" * 2001}, "备注最多 2000 个字"),
        ({"preferred_times": "下午"}, "自定呼叫时间请写成 10:30;17:00 这样的格式"),
        ({"preferred_times": "25:00"}, "自定呼叫时间请写成 10:30;17:00 这样的格式"),
    ],
)
def test_a_bad_edit_is_refused_and_changes_nothing(app, people, change, message) -> None:
    client = signed_in(app, people.staff_a)
    response = post(client, f"/residents/{people.resident_a}/edit", {**GOOD, **change})
    assert response.status_code == 400 and message in text(response)
    assert resident(app, people.resident_a).phone == "+8613803710102"


def test_a_hold_pauses_calls_until_a_date(app, people) -> None:
    client = signed_in(app, people.staff_a)
    form = {"until": "2026-12-01", "reason": "住院"}
    assert post(client, f"/residents/{people.resident_a}/hold", form).status_code == 302
    found = resident(app, people.resident_a)
    assert found.hold_until == dt.date(2026, 12, 1) and found.hold_reason == "住院"
    assert not found.monitored_on(TODAY)


@pytest.mark.parametrize(
    "form",
    [
        {"until": "2026-11-27", "reason": "x"},  # yesterday
        {"until": "tomorrow", "reason": "x"},
        {"until": "", "reason": "x"},
        {"until": "2026-12-01", "reason": ""},
        {"until": "2026-12-01", "reason": "r" * 201},
    ],
)
def test_a_bad_hold_is_refused(app, people, form) -> None:
    client = signed_in(app, people.staff_a)
    assert post(client, f"/residents/{people.resident_a}/hold", form).status_code == 400
    assert resident(app, people.resident_a).hold_until is None


def test_staff_record_a_check_in_on_a_residents_behalf(app, people) -> None:
    client = signed_in(app, people.staff_a)
    form = {"temperature": "38.1", "symptoms": "no", "needs": ["medicine"], "note": "上门"}
    assert post(client, f"/residents/{people.resident_a}/checkin", form).status_code == 302
    with session_scope(app) as session:
        found = session.scalars(select(CheckIn)).one()
        assert found.temperature_c == Decimal("38.1") and found.source == "staff"
    page = text(client.get("/escalations"))
    assert "发热" in page and "38.1 °C" in page
    assert "代购药品" in text(client.get("/orders"))


@pytest.mark.parametrize(
    "form",
    [
        {},
        {"temperature": "hot"},
        {"temperature": "45"},
        {"temperature": "NaN"},
        {"symptoms": "maybe"},
        {"needs": ["caviar"]},
        {"temperature": "36.5", "note": "n" * 1001},
    ],
)
def test_a_bad_check_in_is_refused(app, people, form) -> None:
    client = signed_in(app, people.staff_a)
    assert post(client, f"/residents/{people.resident_a}/checkin", form).status_code == 400
    with session_scope(app) as session:
        assert session.scalars(select(CheckIn)).first() is None


def test_a_zone_where_today_differs_from_utc(app, people, clock) -> None:
    """At 01:00 in Shanghai it is still yesterday in UTC; the board uses the local day."""
    clock.set(dt.datetime(2026, 11, 29, 1, 0, tzinfo=SHANGHAI))
    checkin(app, people.resident_a, "complete", "36.5", day=dt.date(2026, 11, 29))
    shown = colours(text(signed_in(app, people.staff_a).get("/residents")))
    assert shown[str(people.resident_a)] == "green"


def test_listing_one_colour_finds_exactly_the_residents_shown_in_it(app, people, board) -> None:
    """The two renderings of the rule agree, residents with no summary or no temperature too."""
    no_temperature = add_resident(app, "无体温", "+8613803711199", "中原社区")
    checkin(app, no_temperature, "complete")  # recorded by staff without a reading
    fever = app.extensions["pingan.settings"].fever_c
    with session_scope(app) as session:
        shades = dict(session.execute(select(Resident.id, colour(TODAY, fever))).all())
        for wanted in COLOURS:
            query = select(Resident.id).where(is_colour(wanted, TODAY, fever))
            listed = set(session.scalars(query))
            assert listed == {rid for rid, shade in shades.items() if shade == wanted}, wanted
    assert set(shades.values()) == set(COLOURS)
    assert shades[no_temperature] == "green"
    stored, recomputed = day_summaries_and_recomputed(app)
    assert stored == recomputed


def test_staff_add_one_resident_without_a_csv_and_a_refusal_keeps_what_they_typed(
    app, people
) -> None:
    client = signed_in(app, people.staff_a)
    form = text(client.get("/residents/new"))
    assert "中原社区" in form and "祥和社区" not in form  # only their own community
    typed = {"community": str(people.community_a), "name": "李建国", "phone": "138 0371 0102"}
    clash = post(client, "/residents/new", typed)  # the same person again
    assert clash.status_code == 400
    assert "+8613803710102 is already the phone of 李建国" in text(clash)
    assert 'value="李建国"' in text(clash)
    housemate = post(client, "/residents/new", {**typed, "name": "王桂英"})  # his wife
    assert housemate.status_code == 302
    typed = {**typed, "name": "张桂兰"}

    added = post(client, "/residents/new", {**typed, "phone": "138 0371 0109", "lives_alone": "1"})
    assert added.status_code == 302
    with session_scope(app) as session:
        found = session.scalars(select(Resident).where(Resident.name == "张桂兰")).one()
        assert (found.phone, found.community_id, found.lives_alone) == (
            "+8613803710109",
            people.community_a,
            True,
        )
        entry = session.scalars(
            select(AuditEntry).where(
                AuditEntry.action == "created", AuditEntry.entity_id == found.id
            )
        ).one()
        assert (entry.actor, entry.detail) == ("赵红梅", "added one resident")


def test_staff_cannot_add_a_resident_to_another_community(app, people) -> None:
    client = signed_in(app, people.staff_a)
    typed = {"community": str(people.community_b), "name": "张桂兰", "phone": "13803710109"}
    assert post(client, "/residents/new", typed).status_code == 400
    with session_scope(app) as session:
        assert session.scalars(select(Resident).where(Resident.name == "张桂兰")).first() is None


def test_a_temperature_typed_without_its_point_is_explained_not_just_refused(app, people) -> None:
    client = signed_in(app, people.staff_a)
    slip = post(client, f"/residents/{people.resident_a}/checkin", {"temperature": "375"})
    assert slip.status_code == 400
    assert "您是不是要输入 37.5？" in text(slip)
    low = post(client, f"/residents/{people.resident_a}/checkin", {"temperature": "33.9"})
    assert low.status_code == 400 and "必须在 34.0 到 42.0 之间。" in text(low)


def test_a_resident_released_after_a_missed_call_is_grey_not_orange(app, people, board) -> None:
    client = signed_in(app, people.staff_a)
    missed = board["missed"]  # today's last call was missed: orange
    assert colours(text(client.get("/residents")))[str(missed)] == "orange"
    assert post(client, f"/residents/{missed}/release", {"reason": "隔离期满"}).status_code == 302
    assert colours(text(client.get("/residents")))[str(missed)] == "grey"
    assert str(missed) in colours(text(client.get("/residents?colour=grey")))
    assert str(missed) not in colours(text(client.get("/residents?colour=orange")))
    page = text(client.get(f"/residents/{missed}"))
    assert "橙" not in page.split("<main", 1)[-1].split("</h1>", 1)[0]


def test_a_released_resident_with_an_open_escalation_still_needs_a_person(app, people) -> None:
    client = signed_in(app, people.staff_a)
    open_escalation(app, people.resident_a, "callback_requested", "high", None)
    post(client, f"/residents/{people.resident_a}/release", {"reason": "隔离期满"})
    assert colours(text(client.get("/residents")))[str(people.resident_a)] == "orange"


def test_a_refused_check_in_form_comes_back_with_its_message_and_what_was_typed(
    app, people
) -> None:
    client = signed_in(app, people.staff_a)
    page_url = f"/residents/{people.resident_a}"
    form = {"temperature": "375", "symptoms": "yes", "needs": "medicine", "note": "上门测量"}
    refused = post(
        client, f"{page_url}/checkin", form, headers={"Referer": f"http://localhost{page_url}"}
    )
    page = text(refused)
    assert refused.status_code == 400
    assert "您是不是要输入 37.5？" in page
    checkin_form = page[page.index("/checkin") :].split("</form>", 1)[0]
    assert 'value="375"' in checkin_form and 'value="上门测量"' in checkin_form
    assert 'value="yes" selected' in checkin_form and 'value="medicine" checked' in checkin_form
    hold_form = page[page.index("/hold") :].split("</form>", 1)[0]
    assert 'value=""' in hold_form or "value=" not in hold_form.split("reason", 1)[-1][:5]


def test_a_refused_edit_keeps_every_field_typed(app, people) -> None:
    client = signed_in(app, people.staff_a)
    edit_url = f"/residents/{people.resident_a}/edit"
    form = {"name": "李建国", "phone": "123", "address": "新地址1号楼", "isolation_days": "14"}
    refused = post(client, edit_url, form, headers={"Referer": f"http://localhost{edit_url}"})
    assert refused.status_code == 400
    assert 'value="新地址1号楼"' in text(refused) and 'value="123"' in text(refused)


def test_the_change_history_is_written_in_the_staff_members_language(app, people) -> None:
    from ivr.domain import audit

    now = app.extensions["pingan.clock"].now()
    with session_scope(app) as session:
        for action, detail in (
            ("imported", "imported from CSV line 3"),
            ("updated", "CSV line 4: address, phone"),
            ("created", "added one resident"),
        ):
            audit.record(session, now, "cli", action, "resident", people.resident_a, detail)
    page = text(signed_in(app, people.staff_a).get(f"/residents/{people.resident_a}"))
    assert "从 CSV 第 3 行导入" in page and "CSV 第 4 行：住址、电话" in page
    assert "单个添加" in page
    assert "imported from" not in page and "added one" not in page


def test_call_results_are_words_not_codes(app, people, round_done) -> None:
    page = text(signed_in(app, people.supervisor).get("/calls"))
    assert "finished" not in page and "not_reached" not in page
    assert "通话完成" in page


def test_several_needs_read_as_a_list_in_the_viewers_language(app, people) -> None:
    client = signed_in(app, people.staff_a)
    page_url = f"/residents/{people.resident_a}"
    form = {"temperature": "36.6", "symptoms": "no", "needs": ["groceries", "medicine"]}
    assert post(client, f"{page_url}/checkin", form).status_code == 302
    assert "代买生活物资、代购药品" in text(client.get(page_url))
    assert "Groceries, Medicine" in text(client.get(f"{page_url}?lang=en"))


def test_staff_releasing_a_resident_on_a_landline_early_are_told_pingan_will_call_them(
    app, people
) -> None:
    landline = add_resident(app, "王秀英", "+8637165012345", isolation_start=dt.date(2026, 11, 20))
    client = signed_in(app, people.staff_a)
    form = {"reason": "核酸阴性", "tell": "1"}
    page = client.post(
        f"/residents/{landline}/release",
        data={**form, "csrf_token": csrf_token(client, "/today")},
        follow_redirects=True,
    )
    assert (
        "王秀英 使用固定电话，收不到短信：平安将在呼叫时段内打一次电话告知；"
        "如无人接听，会提醒您打电话告诉本人。"
    ) in text(page)
