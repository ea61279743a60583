"""Importing residents from the dashboard: upload, read the row-by-row report, then commit."""

from __future__ import annotations

import io
import re

import pytest
from sqlalchemy import func, select

from ivr.db import session_scope
from storage import AuditEntry, Resident
from tests.dashboard.pages import post, signed_in, text

CSV = (
    "name,phone,community,address,lives_alone\n"
    "王秀英,13803710101,中原社区,建设西路12号院3号楼2单元501,否\n"
    "李建国,13803710102,中原社区,建设西路12号院1号楼1单元302,是\n"  # exists: update
    "无号码,,中原社区,,\n"
    "张三,12345,中原社区,,\n"
)


def upload(client, data: bytes | str, name: str = "residents.csv"):
    raw = data.encode("utf-8") if isinstance(data, str) else data
    return post(
        client,
        "/import/preview",
        {"file": (io.BytesIO(raw), name)},
        content_type="multipart/form-data",
    )


def residents(app) -> int:
    with session_scope(app) as session:
        return session.scalar(select(func.count()).select_from(Resident)) or 0


def confirmation(page: str) -> str:
    found = re.search(r'<textarea name="csv" hidden>\n(.*?)</textarea>', page, re.S)
    assert found, "no confirmation form"
    import html

    return html.unescape(found.group(1))


def test_the_preview_reports_every_row_and_saves_nothing(app, people) -> None:
    client = signed_in(app, people.staff_a)
    response = upload(client, CSV)
    page = text(response)
    assert response.status_code == 200 and residents(app) == 2
    assert "将新增 1 人，更新 1 人，0 人无变化，2 行有错误将跳过" in page
    rows = dict(
        (int(line), action)
        for action, line in re.findall(r'class="action-(\w+)" data-line="(\d+)"', page)
    )
    assert rows == {2: "create", 3: "update", 4: "error", 5: "error"}
    assert "电话为空" in page  # the importer's message, in the page's language
    assert "独居" in page  # the field the update changes


def test_confirming_imports_the_previewed_rows_and_audits_it(app, people) -> None:
    client = signed_in(app, people.staff_a)
    text_back = confirmation(text(upload(client, CSV)))
    response = post(
        client, "/import/commit", {"csv": text_back}, content_type="multipart/form-data"
    )
    assert response.status_code == 200 and "已新增 1 人，更新 1 人" in text(response)
    assert residents(app) == 3
    with session_scope(app) as session:
        updated = session.scalars(select(Resident).where(Resident.name == "李建国")).one()
        assert updated.lives_alone is True
        entries = session.scalars(select(AuditEntry).where(AuditEntry.actor == "赵红梅")).all()
    assert {e.action for e in entries} >= {"imported", "updated"}
    # The same file again changes nothing.
    again = post(client, "/import/commit", {"csv": text_back}, content_type="multipart/form-data")
    assert "已新增 0 人，更新 0 人，2 人无变化" in text(again)


def test_a_gbk_file_from_chinese_excel_is_read(app, people) -> None:
    client = signed_in(app, people.staff_a)
    page = text(upload(client, CSV.encode("gb18030")))
    assert "将新增 1 人，更新 1 人" in page and "王秀英" in page


def test_staff_can_import_only_their_own_community(app, people) -> None:
    rows = (
        "name,phone,community\n"
        "新居民,13803719999,祥和社区\n"  # another community
        "杨志强,13803710201,中原社区\n"  # a resident of 祥和社区: would move them
        "本社区,13803718888,中原社区\n"
    )
    client = signed_in(app, people.staff_a)
    page = text(upload(client, rows))
    assert "将新增 1 人，更新 0 人，0 人无变化，2 行有错误将跳过" in page
    assert "只能导入本社区（中原社区）的居民" in page and "该电话号码属于其他社区的居民" in page
    commit = {"csv": confirmation(page)}
    post(client, "/import/commit", commit, content_type="multipart/form-data")
    with session_scope(app) as session:
        moved = session.scalars(select(Resident).where(Resident.name == "杨志强")).one()
        assert moved.community_id == people.community_b
    assert residents(app) == 3
    # A supervisor may import for every community.
    supervisor = signed_in(app, people.supervisor)
    assert "将新增 1 人" in text(upload(supervisor, rows))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "文件是空的"),
        (b"PK\x03\x04rest-of-a-zip", "这是 Excel 工作簿，不是 CSV"),
        (b"name,phone\n", "缺少必填的列：第一行须有 name,phone,community"),
        (b'name,phone,community\n"unclosed,1,2\n', "第 2 行的引号不配对"),
        (b"\xff\xfe\x00n", "UTF-16"),
    ],
)
def test_an_unusable_file_is_refused_with_a_reason(app, people, data, message) -> None:
    response = upload(signed_in(app, people.staff_a), data)
    assert response.status_code == 400 and message in text(response)


def test_no_file_or_a_huge_file_is_refused(app, people) -> None:
    client = signed_in(app, people.staff_a)
    assert (
        post(client, "/import/preview", {}, content_type="multipart/form-data").status_code == 400
    )
    huge = b"name,phone,community\n" + b"x" * (1024 * 1024 + 10)
    assert upload(client, huge).status_code == 413
    assert post(client, "/import/commit", {"csv": ""}).status_code == 400


def test_a_chinese_spreadsheet_imports_and_the_preview_shows_phones_as_stored(app, people) -> None:
    client = signed_in(app, people.staff_a)
    chinese = (
        "姓名,电话,社区,住址,独居,通知家属\n王秀英,138-0371-0101,中原社区,建设西路12号院,是,否\n"
    )
    page = text(upload(client, chinese))
    assert "将新增 1 人" in page
    table = page.split("<table", 1)[1].split("</table>", 1)[0]
    assert "+8613803710101" in table and "138-0371-0101" not in table


def test_a_file_without_a_required_column_is_explained_on_the_import_page(app, people) -> None:
    response = upload(signed_in(app, people.staff_a), "name,phone\n王秀英,13803710101\n")
    page = text(response)
    assert response.status_code == 400
    assert "缺少必填的列" in page
    assert 'name="file"' in page  # another file can be chosen right there
    for column in ("notify_family", "preferred_times", "emergency_contact"):
        assert column in page  # every column is listed
