"""Importing residents from the CSV files community staff keep in Excel."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

import storage
from ivr.domain.residents_import import (
    Action,
    ImportFileError,
    ImportReport,
    ParsedImport,
    ResidentRow,
    apply_import,
    import_csv,
    parse_csv,
    plan_import,
)
from storage import AuditEntry, Community, Resident

NOW = dt.datetime(2026, 11, 28, 1, 30, tzinfo=dt.UTC)
LATER = NOW + dt.timedelta(days=1)

FULL_HEADER = (
    "name,phone,community,address,language,isolation_start,isolation_days,"
    "lives_alone,emergency_contact,notes\n"
)
CHINESE_FILE = (
    FULL_HEADER
    + "王秀英,13812345678,金水区花园社区,郑州市金水区花园路12号3单元501,普通话,2026-11-28,14,是,"
    "13987654321,高血压，需每日服药\n"
    + "李建国,0371-65123456,二七区建新社区,郑州市二七区建设路8号,,2026/11/27,,否,,\n"
)


@pytest.fixture
def sessions(tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    engine = storage.make_engine("sqlite:///" + str(tmp_path / "t.db"))
    storage.Base.metadata.create_all(engine)
    yield storage.make_sessionmaker(engine)
    engine.dispose()


def run_import(
    sessions: sessionmaker[Session], data: bytes | str, now: dt.datetime = NOW
) -> ImportReport:
    with sessions.begin() as session:
        return import_csv(session, data, now)


def residents(sessions: sessionmaker[Session]) -> dict[str, Resident]:
    with sessions() as session:
        found = session.scalars(select(Resident)).all()
        for resident in found:
            _ = resident.community.name  # load before the session closes
        return {r.phone: r for r in found}


def count(sessions: sessionmaker[Session], model: type[object]) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def only_row(parsed: ParsedImport) -> ResidentRow:
    assert len(parsed.rows) == 1, parsed.rows
    row = parsed.rows[0].row
    assert row is not None, parsed.rows[0].errors
    return row


def with_cell(column: str, cell: str, default_language: str = "zh-CN") -> ResidentRow:
    """The one resident of a file whose only optional column is ``column``."""
    data = f"name,phone,community,{column}\n王秀英,13812345678,花园社区,{cell}\n"
    return only_row(parse_csv(data, "CN", default_language))


# --- encodings and Chinese text ------------------------------------------------------------------


def test_an_excel_csv_utf8_file_with_a_bom_loads_chinese_names_addresses_and_communities(
    sessions: sessionmaker[Session],
) -> None:
    report = run_import(sessions, "\ufeff".encode() + CHINESE_FILE.encode())

    assert (report.created, report.updated, report.unchanged, report.errors) == (2, 0, 0, 0)
    wang = residents(sessions)["+8613812345678"]
    assert wang.name == "王秀英"
    assert wang.address == "郑州市金水区花园路12号3单元501"
    assert wang.community.name == "金水区花园社区"
    assert wang.notes == "高血压，需每日服药"
    assert wang.created_at == wang.updated_at == NOW


def test_a_utf8_file_without_a_bom_loads_the_same(sessions: sessionmaker[Session]) -> None:
    parsed = parse_csv(CHINESE_FILE.encode("utf-8"), "CN", "zh-CN")

    assert parsed.encoding == "utf-8"
    assert [p.row.name for p in parsed.rows if p.row] == ["王秀英", "李建国"]


def test_the_bom_does_not_hide_the_first_column_name() -> None:
    parsed = parse_csv(("\ufeff" + CHINESE_FILE).encode(), "CN", "zh-CN")

    assert parsed.encoding == "utf-8-sig"
    assert "name" in parsed.columns
    assert parsed.warnings == ()


def test_a_gbk_file_saved_by_chinese_excel_is_detected_and_loaded(
    sessions: sessionmaker[Session],
) -> None:
    data = CHINESE_FILE.replace("\n", "\r\n").encode("gbk")
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")  # the point: these bytes are not UTF-8

    assert parse_csv(data, "CN", "zh-CN").encoding == "gb18030"
    report = run_import(sessions, data)

    assert report.created == 2
    li = residents(sessions)["+8637165123456"]
    assert (li.name, li.community.name) == ("李建国", "二七区建新社区")


def test_text_already_decoded_by_the_dashboard_is_accepted_too() -> None:
    parsed = parse_csv("\ufeff" + CHINESE_FILE, "CN", "zh-CN")

    assert len(parsed.good) == 2


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "the file is empty"),
        (b"PK\x03\x04\x14\x00\x06\x00", "this is an Excel workbook"),
        ("name,phone\n".encode("utf-16"), "UTF-16"),
        (b"name,phone,community\n\x80\xff\n", "neither UTF-8 nor GBK"),
        (b'name,phone,community\n"unclosed,13812345678,c\n', "line 2: the quotes do not match"),
    ],
)
def test_a_file_that_cannot_be_read_is_refused_with_one_sentence(data: bytes, message: str) -> None:
    with pytest.raises(ImportFileError, match=message):
        parse_csv(data, "CN", "zh-CN")


# --- phones --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "e164"),
    [
        ("13812345678", "+8613812345678"),
        ("+86 138 1234 5678", "+8613812345678"),
        ("138—1234—5678", "+8613812345678"),
        ("１３８１２３４５６７８", "+8613812345678"),
        ("0371-65123456", "+8637165123456"),
        ("(0371)65123456", "+8637165123456"),
        ("0371 6512 3456", "+8637165123456"),
        ("010-12345678", "+861012345678"),
    ],
)
def test_a_landline_with_an_area_code_is_stored_in_e164_like_a_mobile(
    sessions: sessionmaker[Session], cell: str, e164: str
) -> None:
    run_import(sessions, f'name,phone,community\n张桂兰,"{cell}",花园社区\n')

    assert list(residents(sessions)) == [e164]


def test_bad_phones_are_reported_with_line_and_reason_while_good_rows_still_load(
    sessions: sessionmaker[Session],
) -> None:
    data = (
        "name,phone,community\n"
        "王秀英,13812345678,花园社区\n"
        "赵大爷,12345,花园社区\n"
        "钱奶奶,,花园社区\n"
        "孙爷爷,0371-65123456,建新社区\n"
        "周阿姨,电话待补,建新社区\n"
        "吴伯伯,65123456,建新社区\n"
    )

    report = run_import(sessions, data)

    assert (report.created, report.errors) == (2, 4)
    assert set(residents(sessions)) == {"+8613812345678", "+8637165123456"}
    assert [str(e) for e in report.line_errors] == [
        'line 3: phone "12345": too short for a CN number',
        "line 4: phone is empty",
        'line 6: phone "电话待补": not a phone number',
        'line 7: phone "65123456": a landline needs its area code, e.g. 0371-65123456',
    ]
    text = report.format_report()
    assert 'line 3: phone "12345": too short for a CN number' in text
    assert text[-1] == "2 created, 0 updated, 0 unchanged, 4 rows with errors skipped"


def test_a_phone_repeated_in_the_file_is_an_error_naming_the_earlier_line(
    sessions: sessionmaker[Session],
) -> None:
    data = (
        "name,phone,community\n"
        "王秀英,13812345678,花园社区\n"
        "李建国,0371-65123456,建新社区\n"
        "王秀英,+86 138 1234 5678,花园社区\n"
    )

    report = run_import(sessions, data)

    assert report.created == 2
    assert [str(e) for e in report.line_errors] == [
        'line 4: phone "+86 138 1234 5678": same number and name as line 2',
    ]
    assert residents(sessions)["+8613812345678"].name == "王秀英"


def test_the_emergency_contact_is_normalised_and_checked_too() -> None:
    parsed = parse_csv(
        "name,phone,community,emergency_contact\n"
        "王秀英,13812345678,花园社区,０３７１－６５１２３４５６\n"
        "李建国,13900001111,花园社区,123\n"
        "张桂兰,13900002222,花园社区,139 0000 2222\n",
        "CN",
        "zh-CN",
    )

    assert parsed.rows[0].row is not None
    assert parsed.rows[0].row.emergency_contact == "+8637165123456"
    assert parsed.rows[1].errors == ('emergency_contact "123": too short for a CN number',)
    assert parsed.rows[2].errors == ("emergency_contact is the resident's own phone",)


# --- the header ----------------------------------------------------------------------------------


def test_a_file_without_a_required_column_is_refused_with_a_clear_message() -> None:
    with pytest.raises(ImportFileError) as caught:
        parse_csv("name,mobile,community\n王秀英,13812345678,花园社区\n", "CN", "zh-CN")

    assert str(caught.value) == (
        "missing required column phone: the header row must name name, phone, community"
    )


def test_a_file_saved_with_semicolons_says_so() -> None:
    with pytest.raises(ImportFileError, match="separated by commas"):
        parse_csv("name;phone;community\n王秀英;13812345678;花园社区\n", "CN", "zh-CN")


def test_header_names_are_case_insensitive_and_unknown_columns_are_one_warning() -> None:
    parsed = parse_csv(
        " Name ,PHONE,Community,Isolation Start,楼栋,Remark\n"
        "王秀英,13812345678,花园社区,2026-11-28,3号楼,x\n"
        "李建国,13900001111,花园社区,2026-11-28,5号楼,y\n",
        "CN",
        "zh-CN",
    )

    assert parsed.warnings == ("unknown columns ignored: 楼栋, Remark",)
    assert [p.row.isolation_start for p in parsed.rows if p.row] == [dt.date(2026, 11, 28)] * 2


def test_a_column_named_twice_is_refused() -> None:
    with pytest.raises(ImportFileError, match='column "phone" appears twice'):
        parse_csv("name,phone,community,Phone\n", "CN", "zh-CN")


def test_a_row_with_an_unquoted_comma_is_an_error_not_a_shifted_row() -> None:
    parsed = parse_csv(
        "name,phone,community,address\n王秀英,13812345678,花园社区,郑州市,金水区\n", "CN", "zh-CN"
    )

    assert parsed.rows[0].errors == (
        "5 values but the header has 4 columns: put text that contains commas in double quotes",
    )


def test_blank_lines_and_empty_excel_rows_are_skipped_but_still_counted_as_lines() -> None:
    parsed = parse_csv("name,phone,community\n\n,,\n王秀英,12345,花园社区\n", "CN", "zh-CN")

    assert [(p.line, p.errors) for p in parsed.rows] == [
        (4, ('phone "12345": too short for a CN number',))
    ]


# --- line numbers --------------------------------------------------------------------------------


def test_a_quoted_address_with_a_newline_keeps_later_line_numbers_right() -> None:
    data = (
        "name,phone,community,address\r\n"
        '王秀英,13812345678,花园社区,"郑州市金水区花园路12号\r\n3单元501"\r\n'
        '李建国,12345,建新社区,"二七区\n建设路\n8号"\n'
        "张桂兰,abc,建新社区,\n"
    )

    parsed = parse_csv(data, "CN", "zh-CN")

    assert [p.line for p in parsed.rows] == [2, 4, 7]
    assert parsed.rows[0].row is not None
    # An address is one line on an envelope: the line break becomes a space.
    assert parsed.rows[0].row.address == "郑州市金水区花园路12号 3单元501"
    assert [str(e) for e in plan_errors(parsed)] == [
        'line 4: phone "12345": too short for a CN number',
        'line 7: phone "abc": not a phone number',
    ]


def plan_errors(parsed: ParsedImport) -> list[str]:
    return [f"line {p.line}: {error}" for p in parsed.bad for error in p.errors]


# --- re-import and updates -----------------------------------------------------------------------


def test_importing_the_same_file_again_changes_nothing(sessions: sessionmaker[Session]) -> None:
    run_import(sessions, CHINESE_FILE)
    before = residents(sessions)

    report = run_import(sessions, CHINESE_FILE, now=LATER)

    assert (report.created, report.updated, report.unchanged) == (0, 0, 2)
    assert report.new_communities == ()
    after = residents(sessions)
    assert {p: r.updated_at for p, r in after.items()} == {p: NOW for p in before}
    assert count(sessions, Community) == 2
    assert count(sessions, AuditEntry) == 4  # 2 communities + 2 residents, from the first time


def test_an_existing_phone_updates_that_resident_and_lists_the_changed_fields(
    sessions: sessionmaker[Session],
) -> None:
    run_import(sessions, CHINESE_FILE)
    moved = CHINESE_FILE.replace(
        "金水区花园社区,郑州市金水区花园路12号3单元501", "惠济区新城社区,郑州市惠济区天河路1号"
    )

    with sessions.begin() as session:
        plan = plan_import(session, parse_csv(moved, "CN", "zh-CN"))
        report = apply_import(session, plan, LATER, actor="staff:liu")

    [update] = report.updates
    assert update.line == 2
    assert update.action == Action.UPDATE
    assert update.changed_fields == ("community", "address")
    assert (report.created, report.updated, report.unchanged) == (0, 1, 1)
    assert report.new_communities == ("惠济区新城社区",)
    assert "line 2: 王秀英 updated (community, address)" in report.format_report()
    everyone = residents(sessions)
    wang = everyone["+8613812345678"]
    assert (wang.community.name, wang.address) == ("惠济区新城社区", "郑州市惠济区天河路1号")
    assert (wang.created_at, wang.updated_at) == (NOW, LATER)
    assert everyone["+8637165123456"].updated_at == NOW  # untouched
    with sessions() as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "updated")).one()
    assert (entry.actor, entry.entity, entry.entity_id) == ("staff:liu", "resident", wang.id)
    assert entry.detail == "CSV line 2: community, address"


def test_a_phone_written_differently_is_still_the_same_resident(
    sessions: sessionmaker[Session],
) -> None:
    run_import(sessions, "name,phone,community\n王秀英,13812345678,花园社区\n")

    report = run_import(
        sessions, "name,phone,community\n王秀英,+86 138-1234-5678,花园社区\n", now=LATER
    )

    assert (report.created, report.unchanged) == (0, 1)
    assert count(sessions, Resident) == 1


def test_columns_missing_from_the_file_leave_existing_values_alone(
    sessions: sessionmaker[Session],
) -> None:
    run_import(sessions, CHINESE_FILE)

    report = run_import(
        sessions, "name,phone,community\n王秀英,13812345678,金水区花园社区\n", now=LATER
    )

    assert report.unchanged == 1
    wang = residents(sessions)["+8613812345678"]
    assert (wang.isolation_days, wang.lives_alone, wang.notes) == (14, True, "高血压，需每日服药")


def test_a_preview_writes_nothing(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        plan = plan_import(session, parse_csv(CHINESE_FILE, "CN", "zh-CN"))

    assert [p.action for p in plan.rows] == [Action.CREATE, Action.CREATE]
    assert plan.report().format_report()[-2:] == [
        "communities to create: 金水区花园社区, 二七区建新社区",
        "2 to create, 0 to update, 0 unchanged, 0 rows with errors to skip",
    ]
    assert count(sessions, Resident) == count(sessions, Community) == 0


# --- communities ---------------------------------------------------------------------------------


def test_communities_are_created_on_first_mention_and_reused_after(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as session:
        session.add(Community(name="建新社区", created_at=NOW))
    data = (
        "name,phone,community\n"
        "王秀英,13812345678, 花园社区 \n"
        "李建国,13900001111,建新社区\n"
        "张桂兰,13900002222,花园社区\n"
        "赵大爷,12345,幸福社区\n"
    )  # a bad row creates no community

    report = run_import(sessions, data, now=LATER)

    assert report.new_communities == ("花园社区",)
    assert report.format_report()[-2] == "new communities: 花园社区"
    with sessions() as session:
        names = {
            c.name: (c.created_at, len(c.residents)) for c in session.scalars(select(Community))
        }
    assert names == {"建新社区": (NOW, 1), "花园社区": (LATER, 2)}


def test_nothing_is_committed_by_the_import_itself(sessions: sessionmaker[Session]) -> None:
    with sessions() as session, session.begin():
        import_csv(session, CHINESE_FILE, NOW)
        session.rollback()

    assert count(sessions, Resident) == count(sessions, Community) == 0


def test_a_naive_time_is_refused_before_anything_is_written(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as session, pytest.raises(ValueError, match="aware"):
        import_csv(session, CHINESE_FILE, dt.datetime(2026, 11, 28, 9, 30))


# --- the optional columns ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "language"),
    [
        ("zh-CN", "zh-CN"),
        ("zh", "zh-CN"),
        ("cmn", "zh-CN"),
        ("普通话", "zh-CN"),
        ("中文", "zh-CN"),
        ("en", "en"),
        ("English", "en"),
        ("英语", "en"),
        ("yue", "yue"),
        ("Cantonese", "yue"),
        ("粤语", "yue"),
        ("粵語", "yue"),
        ("", "yue"),  # empty: the default the caller passes (here yue)
    ],
)
def test_language_aliases_are_understood(cell: str, language: str) -> None:
    assert with_cell("language", cell, default_language="yue").language == language


def test_without_a_language_column_new_residents_get_the_default_language() -> None:
    row = only_row(parse_csv("name,phone,community\n王秀英,13812345678,花园社区\n", "CN", "en"))

    assert row.language == "en"


@pytest.mark.parametrize(
    "cell",
    [
        "2026-11-28",
        "2026/11/28",
        "2026年11月28日",
        "2026年11月28",
        " 2026.11.28 ",
        "２０２６年１１月２８日",
    ],
)
def test_isolation_start_accepts_iso_slashes_and_chinese_dates(cell: str) -> None:
    assert with_cell("isolation_start", cell).isolation_start == dt.date(2026, 11, 28)


def test_single_digit_months_and_days_are_dates_too() -> None:
    assert with_cell("isolation_start", "2026/1/5").isolation_start == dt.date(2026, 1, 5)


@pytest.mark.parametrize(
    ("cell", "alone"),
    [
        ("1", True),
        ("true", True),
        ("TRUE", True),
        ("yes", True),
        ("Y", True),
        ("是", True),
        ("独居", True),
        ("0", False),
        ("false", False),
        ("no", False),
        ("n", False),
        ("否", False),
        ("", False),
    ],
)
def test_lives_alone_accepts_the_usual_ways_of_saying_yes_and_no(cell: str, alone: bool) -> None:
    assert with_cell("lives_alone", cell).lives_alone is alone


def test_isolation_days_default_to_14() -> None:
    assert with_cell("isolation_days", "").isolation_days == 14
    assert with_cell("isolation_days", "21").isolation_days == 21


def test_every_bad_cell_of_a_row_is_reported_at_once() -> None:
    parsed = parse_csv(
        "name,phone,community,language,isolation_start,isolation_days,lives_alone\n"
        ",12345,,fr,2026-13-01,0,maybe\n",
        "CN",
        "zh-CN",
    )

    assert parsed.rows[0].row is None
    assert parsed.rows[0].errors == (
        "name is empty",
        'phone "12345": too short for a CN number',
        "community is empty",
        'language "fr": not one of zh-CN, en, yue',
        'isolation_start "2026-13-01": not a date such as 2026-11-28',
        'isolation_days "0": not a whole number of days from 1 to 365',
        'lives_alone "maybe": not yes or no (1/0, 是/否)',
    )
    assert parsed.rows[0].values["language"] == "fr"  # the raw cells, for the preview


def test_a_name_too_long_for_the_database_is_a_line_error() -> None:
    parsed = parse_csv(f"name,phone,community\n{'王' * 101},13812345678,花园社区\n", "CN", "zh-CN")

    assert parsed.rows[0].errors == ("name is longer than 100 characters",)


def test_a_residents_own_call_times_are_read_the_way_staff_write_them(
    sessions: sessionmaker[Session],
) -> None:
    data = (
        "name,phone,community,preferred_times\n"
        "王秀英,13812345678,花园社区,9:30；17:00\n"
        "赵大爷,13812345679,花园社区,\n"
        "钱奶奶,13812345670,花园社区,after lunch\n"
    )

    report = run_import(sessions, data)

    assert (report.created, report.errors) == (2, 1)
    assert [str(e) for e in report.line_errors] == [
        'line 4: preferred_times "after lunch": not times of day such as 10:30;17:00'
    ]
    found = residents(sessions)
    assert found["+8613812345678"].preferred_times == "09:30,17:00"
    assert found["+8613812345679"].preferred_times is None


def test_the_family_can_be_asked_to_be_texted_from_the_file(
    sessions: sessionmaker[Session],
) -> None:
    data = (
        "name,phone,community,emergency_contact,notify_family\n"
        "王秀英,13812345678,花园社区,13912345678,是\n"
        "赵大爷,13812345679,花园社区,,\n"
    )
    assert run_import(sessions, data).created == 2
    found = residents(sessions)
    assert found["+8613812345678"].notify_family is True
    assert found["+8613812345679"].notify_family is False
