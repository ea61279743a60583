"""Administration: staff accounts, communities with their round times and calling windows,
and the settings in use (secrets hidden)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from ivr.db import session_scope
from storage import AuditEntry, Community, Staff
from tests.dashboard.pages import login, post, signed_in, staff_row, text

NEW = {"name": "孙丽", "phone": "139 0371 0013", "role": "staff", "password": "start-pass-1"}


def test_an_admin_adds_a_staff_member_who_can_then_log_in(app, people) -> None:
    client = signed_in(app, people.admin)
    form = {**NEW, "community": str(people.community_a)}
    assert post(client, "/admin/staff", form).status_code == 302
    added = staff_row(app, "13903710013")
    assert (added.name, added.role, added.community_id) == ("孙丽", "staff", people.community_a)
    assert login(app.test_client(), "13903710013", "start-pass-1").status_code == 302
    assert "孙丽" in text(client.get("/admin/staff"))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"name": ""}, "请填写姓名"),
        ({"phone": "not a phone"}, "手机号不是有效的电话号码"),
        ({"phone": "13903710011"}, "这个手机号已经注册"),
        ({"role": "root"}, "请选择有效的角色"),
        ({"community": ""}, "社区工作人员必须属于一个社区"),
        ({"community": "999"}, "请选择有效的社区"),
        ({"community": "one"}, "社区必须是整数"),
        ({"password": "short"}, "密码需要 8 到 128 个字符"),
        ({"password": " padded-password "}, "密码需要 8 到 128 个字符"),
    ],
)
def test_a_bad_new_staff_member_is_refused(app, people, change, message) -> None:
    client = signed_in(app, people.admin)
    form = {**NEW, "community": str(people.community_a), **change}
    response = post(client, "/admin/staff", form)
    assert response.status_code in (400, 409) and message in text(response)
    with session_scope(app) as session:
        assert session.scalar(select(Staff).where(Staff.name == "孙丽")) is None


def test_an_admin_changes_a_role_resets_a_password_and_removes_an_account(app, people) -> None:
    client = signed_in(app, people.admin)
    staff_id = staff_row(app, people.staff_a).id
    form = {"role": "supervisor", "community": ""}
    assert post(client, f"/admin/staff/{staff_id}/role", form).status_code == 302
    assert staff_row(app, people.staff_a).role == "supervisor"
    assert post(client, f"/admin/staff/{staff_id}/password", {"password": "x"}).status_code == 400
    form = {"password": "brand-new-pass"}
    assert post(client, f"/admin/staff/{staff_id}/password", form).status_code == 302
    assert login(app.test_client(), people.staff_a, "brand-new-pass").status_code == 302
    assert post(client, f"/admin/staff/{staff_id}/remove").status_code == 302
    assert staff_row(app, people.staff_a).active is False
    assert login(app.test_client(), people.staff_a, "brand-new-pass").status_code == 401
    with session_scope(app) as session:
        actions = set(
            session.scalars(select(AuditEntry.action).where(AuditEntry.actor == "管理员"))
        )
    assert {"staff_changed", "password_set", "staff_removed"} <= actions


def test_an_admin_cannot_lock_themselves_out(app, people) -> None:
    client = signed_in(app, people.admin)
    me = staff_row(app, people.admin).id
    assert post(client, f"/admin/staff/{me}/remove").status_code == 409
    assert post(client, f"/admin/staff/{me}/role", {"role": "staff"}).status_code == 409
    assert post(client, "/admin/staff/424242/remove").status_code == 404


def test_an_admin_sets_a_communitys_round_times_and_calling_window(app, people) -> None:
    client = signed_in(app, people.admin)
    form = {
        "name": "中原社区", "round_times": "16:00, 9:30", "window_start": "08:30",
        "window_end": "19:00", "hotline": "0371-67880001", "duty_phone": "",
    }  # fmt: skip
    assert post(client, f"/admin/communities/{people.community_a}", form).status_code == 302
    with session_scope(app) as session:
        found = session.get(Community, people.community_a)
        assert found.round_times == "09:30,16:00" and found.hotline == "+863716788000" + "1"
        assert (found.window_start, found.window_end, found.duty_phone) == ("08:30", "19:00", None)
    assert post(client, "/admin/communities", {"name": "嵩山社区"}).status_code == 302
    assert post(client, "/admin/communities", {"name": "嵩山社区"}).status_code == 409


@pytest.mark.parametrize(
    "change",
    [
        {"round_times": "9 o'clock"},
        {"round_times": "25:00"},
        {"window_start": "08:00"},  # no end
        {"window_start": "20:00", "window_end": "08:00"},
        {"window_start": "8am", "window_end": "9pm"},
        {"hotline": "hotline"},
        {"name": ""},
        {"name": "祥和社区"},  # taken
    ],
)
def test_bad_community_settings_are_refused(app, people, change) -> None:
    form = {"name": "中原社区", **change}
    response = post(signed_in(app, people.admin), f"/admin/communities/{people.community_a}", form)
    assert response.status_code in (400, 409)
    with session_scope(app) as session:
        found = session.get(Community, people.community_a)
        assert found.name == "中原社区" and found.round_times is None


def test_an_admin_sets_a_communitys_language_and_full_width_round_times(app, people) -> None:
    form = {"name": "中原社区", "round_times": "9:00，16:00", "language": "yue"}
    client = signed_in(app, people.admin)
    assert post(client, f"/admin/communities/{people.community_a}", form).status_code == 302
    with session_scope(app) as session:
        found = session.get(Community, people.community_a)
        assert (found.round_times, found.language) == ("09:00,16:00", "yue")
    assert 'value="yue" selected' in text(client.get("/admin/communities"))
    form["language"] = "klingon"
    assert post(client, f"/admin/communities/{people.community_a}", form).status_code == 400


def test_the_settings_page_hides_secrets(app, people) -> None:
    page = text(signed_in(app, people.admin).get("/admin/settings"))
    assert "PINGAN_FEVER_C" in page and "37.3" in page
    assert "test-secret" not in page and "test-auth-token" not in page


@pytest.fixture
def local_admin(app, people) -> str:
    """An admin limited to 中原社区 (community A)."""
    from tests.dashboard.pages import person

    person(app, "社区管理员", "+8613903710097", people.community_a, "admin")
    return "13903710097"


def test_a_community_admin_sees_and_manages_only_their_communitys_staff(
    app, people, local_admin
) -> None:
    client = signed_in(app, local_admin)
    page = text(client.get("/admin/staff"))
    assert "赵红梅" in page  # A's staff member
    assert "钱建军" not in page and "周主任" not in page and "<strong>管理员</strong>" not in page
    assert "全部社区（督导、管理员）" not in page and "祥和社区" not in page
    for phone in (people.staff_b, people.supervisor, people.admin):
        other = staff_row(app, phone).id
        assert (
            post(client, f"/admin/staff/{other}/password", {"password": "taken-over-1"}).status_code
            == 404
        )
        assert post(client, f"/admin/staff/{other}/remove").status_code == 404
        form = {"role": "staff", "community": str(people.community_a)}
        assert post(client, f"/admin/staff/{other}/role", form).status_code == 404
    assert login(app.test_client(), people.admin, "taken-over-1").status_code == 401
    assert staff_row(app, people.staff_b).community_id == people.community_b
    mine = staff_row(app, people.staff_a).id
    assert (
        post(client, f"/admin/staff/{mine}/password", {"password": "reset-pass-22"}).status_code
        == 302
    )


def test_a_community_admin_cannot_lift_their_own_limit_or_grant_more_than_they_have(
    app, people, local_admin
) -> None:
    client = signed_in(app, local_admin)
    me = staff_row(app, local_admin).id
    for form in (
        {"role": "admin", "community": ""},
        {"role": "admin", "community": str(people.community_b)},
    ):
        assert post(client, f"/admin/staff/{me}/role", form).status_code in (403, 409)
    assert staff_row(app, local_admin).community_id == people.community_a
    staff_a = staff_row(app, people.staff_a).id
    for form in ({"role": "supervisor", "community": ""}, {"role": "admin", "community": ""},
                 {"role": "staff", "community": str(people.community_b)}):  # fmt: skip
        assert post(client, f"/admin/staff/{staff_a}/role", form).status_code == 403
    assert staff_row(app, people.staff_a).community_id == people.community_a
    # Within their community they may give what they have.
    form = {"role": "supervisor", "community": str(people.community_a)}
    assert post(client, f"/admin/staff/{staff_a}/role", form).status_code == 302
    for extra in (
        {"role": "admin", "community": ""},
        {"role": "staff", "community": str(people.community_b)},
    ):
        response = post(client, "/admin/staff", {**NEW, **extra})
        assert response.status_code == 403
    with session_scope(app) as session:
        assert session.scalar(select(Staff).where(Staff.name == "孙丽")) is None
    assert (
        post(client, "/admin/staff", {**NEW, "community": str(people.community_a)}).status_code
        == 302
    )


def test_a_community_admin_edits_only_their_own_community(app, people, local_admin) -> None:
    client = signed_in(app, local_admin)
    page = text(client.get("/admin/communities"))
    assert "中原社区" in page and "祥和社区" not in page
    form = {"name": "被改名", "round_times": "", "window_start": "", "window_end": ""}
    assert post(client, f"/admin/communities/{people.community_b}", form).status_code == 404
    assert post(client, "/admin/communities", {"name": "新社区"}).status_code == 403
    assert client.get("/admin/settings").status_code == 403
    with session_scope(app) as session:
        assert set(session.scalars(select(Community.name))) == {"中原社区", "祥和社区"}


def test_no_admin_changes_their_own_role_or_community(app, people) -> None:
    client = signed_in(app, people.admin)
    me = staff_row(app, people.admin).id
    form = {"role": "admin", "community": str(people.community_a)}
    assert post(client, f"/admin/staff/{me}/role", form).status_code == 409
    assert staff_row(app, people.admin).community_id is None


def test_the_settings_page_reads_like_a_page_not_a_config_dump(app, people) -> None:
    page = text(signed_in(app, people.admin).get("/admin/settings"))
    assert "08:00–20:00" in page  # the calling window
    assert "09:00、16:00" in page  # the round times
    assert "10 分钟" in page and "15 分钟" in page and "45 秒" in page
    assert "datetime" not in page and "0:10:00" not in page and "(" + "datetime" not in page
    assert "发热阈值" in page  # described in the page's language
    assert "fever threshold" not in page
    english = text(signed_in(app, people.admin).get("/admin/settings?lang=en"))
    assert "fever threshold" in english and "10 min" in english


def test_a_refused_community_or_staff_form_comes_back_with_what_was_typed(app, people) -> None:
    client = signed_in(app, people.admin)
    page = "http://localhost/admin/communities"
    form = {"name": "中原社区", "round_times": "9点", "hotline": "0371-6000 1234"}
    refused = post(
        client, f"/admin/communities/{people.community_a}", form, headers={"Referer": page}
    )
    assert refused.status_code == 400
    assert 'value="9点"' in text(refused) and 'value="0371-6000 1234"' in text(refused)
    staff_page = "http://localhost/admin/staff"
    typed = {"name": "新同事", "phone": "12", "role": "staff"}
    refused = post(client, "/admin/staff", typed, headers={"Referer": staff_page})
    assert refused.status_code == 400 and 'value="新同事"' in text(refused)
