"""Residents from a CSV file, in three steps so the dashboard can preview before anything is saved.

1. ``parse_csv`` reads the file (no database): every data row becomes a clean ``ResidentRow`` or
   a list of reasons it is bad, each tied to the line staff see in their editor.
2. ``plan_import`` compares the good rows with the database: create, update (which fields) or
   unchanged, and which communities are new.
3. ``apply_import`` writes the plan into the caller's transaction (it never commits).

The phone number and the name are the resident's identity: a row whose number and name are
already stored updates that resident, so importing the same file twice changes nothing. Residents
sharing a phone are a household: a row with a stored number but another name adds a member.
Only columns present in the file are compared and written; a file without ``notes`` leaves
everyone's notes alone.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from ivr.domain import audit
from ivr.phones import PhoneError, normalize_phone
from storage.models import Community, Resident

LANGUAGES = ("zh-CN", "en", "yue")
REQUIRED_COLUMNS = ("name", "phone", "community")
OPTIONAL_COLUMNS = (
    "address",
    "language",
    "isolation_start",
    "isolation_days",
    "lives_alone",
    "emergency_contact",
    "notify_family",
    "notes",
    "preferred_times",
)
COLUMNS = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
DEFAULT_ISOLATION_DAYS = 14
# Far beyond any quarantine rule; a larger number is a typo (140 for 14), not a plan.
MAX_ISOLATION_DAYS = 365

# Lengths of the database columns, checked here so a long cell is a line error, not a failed
# transaction on PostgreSQL (SQLite would silently keep it).
_MAX_LENGTHS = {"name": 100, "community": 100, "address": 200}

_LANGUAGE_ALIASES = {
    "zh-cn": "zh-CN",
    "zh_cn": "zh-CN",
    "zh": "zh-CN",
    "cmn": "zh-CN",
    "mandarin": "zh-CN",
    "chinese": "zh-CN",
    "普通话": "zh-CN",
    "普通話": "zh-CN",
    "中文": "zh-CN",
    "国语": "zh-CN",
    "en": "en",
    "english": "en",
    "英语": "en",
    "英語": "en",
    "英文": "en",
    "yue": "yue",
    "cantonese": "yue",
    "粤语": "yue",
    "粵語": "yue",
    "广东话": "yue",
    "廣東話": "yue",
    "白话": "yue",
}
_TRUE = frozenset({"1", "true", "yes", "y", "是", "独居", "獨居"})
_FALSE = frozenset({"0", "false", "no", "n", "否", "非独居", "非獨居"})
_DATE = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?")
_BATCH = 500  # values per IN (...) query, well under SQLite's bound-parameter limit

T = TypeVar("T")


class ImportFileError(ValueError):
    """The file as a whole cannot be imported; the message says why in one sentence."""


class Action(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    UNCHANGED = "unchanged"


@dataclass(frozen=True)
class ResidentRow:
    """One resident as the file describes them, cleaned: phones E.164, defaults filled in."""

    name: str
    phone: str
    community: str
    address: str | None = None
    language: str = "zh-CN"
    isolation_start: dt.date | None = None
    isolation_days: int = DEFAULT_ISOLATION_DAYS
    lives_alone: bool = False
    emergency_contact: str | None = None
    notify_family: bool = False  # text the emergency contact when the resident is unreachable
    notes: str | None = None
    preferred_times: str | None = None  # "10:30,17:00": this resident's own round times
    language_given: bool = False  # without it a new resident speaks their community's language


@dataclass(frozen=True)
class ParsedRow:
    """A data row: ``row`` when it is good, otherwise ``errors`` (never both)."""

    line: int  # physical line where the row starts; the header is line 1
    values: Mapping[str, str]  # the raw cells by column, for showing bad rows in a preview
    row: ResidentRow | None
    errors: tuple[str, ...] = ()


@dataclass(frozen=True)
class ParsedImport:
    rows: tuple[ParsedRow, ...]
    columns: frozenset[str]  # the known columns the file has; only these are compared/written
    warnings: tuple[str, ...]
    encoding: str

    @property
    def good(self) -> tuple[ParsedRow, ...]:
        return tuple(r for r in self.rows if r.row is not None)

    @property
    def bad(self) -> tuple[ParsedRow, ...]:
        return tuple(r for r in self.rows if r.row is None)


@dataclass(frozen=True)
class LineError:
    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


@dataclass(frozen=True)
class FieldChange:
    field: str
    old: object
    new: object


@dataclass(frozen=True)
class PlannedRow:
    line: int
    row: ResidentRow
    action: Action
    resident_id: int | None = None  # the existing resident, for update and unchanged
    changes: tuple[FieldChange, ...] = ()
    housemates: tuple[str, ...] = ()  # created: residents already stored with this phone

    @property
    def changed_fields(self) -> tuple[str, ...]:
        return tuple(change.field for change in self.changes)


@dataclass(frozen=True)
class ImportReport:
    created: int
    updated: int
    unchanged: int
    errors: int  # rows skipped because of errors
    line_errors: tuple[LineError, ...]
    warnings: tuple[str, ...] = ()
    new_communities: tuple[str, ...] = ()
    updates: tuple[PlannedRow, ...] = ()
    applied: bool = True  # False for a preview: nothing was written
    joins: tuple[PlannedRow, ...] = ()  # new members of a stored household

    def format_report(self) -> list[str]:
        """Readable lines for the CLI and the dashboard, ending with a one-line summary."""
        lines = [f"warning: {warning}" for warning in self.warnings]
        lines += [str(error) for error in self.line_errors]
        verb = "updated" if self.applied else "to update"
        lines += [
            f"line {u.line}: {u.row.name} {verb} ({', '.join(u.changed_fields)})"
            for u in self.updates
        ]
        verb = "added" if self.applied else "to add"
        lines += [
            f"line {j.line}: {j.row.name} {verb} to the household of "
            f"{'、'.join(j.housemates)} (same phone)"
            for j in self.joins
        ]
        if self.new_communities:
            label = "new communities" if self.applied else "communities to create"
            lines.append(f"{label}: {', '.join(self.new_communities)}")
        lines.append(self.summary())
        return lines

    def summary(self) -> str:
        if self.applied:
            counts = f"{self.created} created, {self.updated} updated"
            skipped = "skipped"
        else:
            counts = f"{self.created} to create, {self.updated} to update"
            skipped = "to skip"
        return (
            f"{counts}, {self.unchanged} unchanged, "
            f"{self.errors} {_plural(self.errors, 'row')} with errors {skipped}"
        )


@dataclass(frozen=True)
class ImportPlan:
    rows: tuple[PlannedRow, ...]
    new_communities: tuple[str, ...]  # in order of first mention
    columns: frozenset[str]
    line_errors: tuple[LineError, ...]
    error_rows: int
    warnings: tuple[str, ...]

    def count(self, action: Action) -> int:
        return sum(1 for planned in self.rows if planned.action == action)

    def report(self, applied: bool = False) -> ImportReport:
        """What the import does (``applied=False``: would do) with this plan."""
        return ImportReport(
            created=self.count(Action.CREATE),
            updated=self.count(Action.UPDATE),
            unchanged=self.count(Action.UNCHANGED),
            errors=self.error_rows,
            line_errors=self.line_errors,
            warnings=self.warnings,
            new_communities=self.new_communities,
            updates=tuple(p for p in self.rows if p.action == Action.UPDATE),
            applied=applied,
            joins=tuple(p for p in self.rows if p.housemates),
        )


# --- phase 1: parse ----------------------------------------------------------------------------


def parse_csv(
    data: bytes | str, region: str = "CN", default_language: str = "zh-CN"
) -> ParsedImport:
    """Read a residents CSV without touching the database.

    Raises ``ImportFileError`` when the file as a whole is unusable (encoding, quoting, a missing
    required column); problems of single rows are reported on those rows instead.
    """
    if default_language not in LANGUAGES:
        raise ValueError(f"default language {default_language!r} is not one of {LANGUAGES}")
    text, encoding = _decode(data)
    records = _records(text)
    header = _Header.read(_first_record(records))
    rows: list[ParsedRow] = []
    first_line_of_phone: dict[str, int] = {}
    unnamed_data = False
    for line, cells in records:
        if not any(cell.strip() for cell in cells):
            continue  # blank lines and Excel's ",,,," rows
        unnamed_data = unnamed_data or header.has_unnamed_data(cells)
        rows.append(_parse_row(line, cells, header, region, default_language, first_line_of_phone))
    warnings = header.warnings(unnamed_data)
    return ParsedImport(tuple(rows), header.known, warnings, encoding)


def _decode(data: bytes | str) -> tuple[str, str]:
    """The file's text and the encoding it was read with."""
    if isinstance(data, str):
        return data.removeprefix("\ufeff"), "text"
    if data.startswith(b"PK\x03\x04"):
        raise ImportFileError('this is an Excel workbook, not CSV: save it as "CSV UTF-8"')
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise ImportFileError(
            'the file is UTF-16 (Excel\'s "Unicode Text"): save it as "CSV UTF-8"'
        )
    if data.startswith(codecs.BOM_UTF8):
        try:
            return data.decode("utf-8-sig"), "utf-8-sig"
        except UnicodeDecodeError as exc:
            raise ImportFileError(
                f"the file says it is UTF-8 but is not ({exc.reason} at byte {exc.start})"
            ) from None
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    # Chinese Excel saves "CSV" in the ANSI code page, GBK; GB18030 is its superset.
    try:
        return data.decode("gb18030"), "gb18030"
    except UnicodeDecodeError:
        raise ImportFileError(
            'the file is neither UTF-8 nor GBK text: save it as "CSV UTF-8"'
        ) from None


def _records(text: str) -> Iterator[tuple[int, list[str]]]:
    """Each CSV record with the physical line it starts on (a quoted newline spans lines)."""
    if "\x00" in text:
        raise ImportFileError("the file is not text (it contains NUL bytes): save it as CSV")
    # strict: an unclosed quote would otherwise swallow the rest of the file into one cell.
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    while True:
        start = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise ImportFileError(f"line {start}: the quotes do not match ({exc})") from None
        yield start, cells


def _first_record(records: Iterator[tuple[int, list[str]]]) -> list[str]:
    for _line, cells in records:
        if any(cell.strip() for cell in cells):
            return cells
    raise ImportFileError(
        "the file is empty: it needs a header row such as " + ",".join(REQUIRED_COLUMNS)
    )


# Headers as staff write them in a Chinese spreadsheet.
CHINESE_HEADERS = {
    "姓名": "name",
    "电话": "phone",
    "电话号码": "phone",
    "手机": "phone",
    "手机号": "phone",
    "联系电话": "phone",
    "社区": "community",
    "住址": "address",
    "地址": "address",
    "语言": "language",
    "隔离开始": "isolation_start",
    "隔离开始日期": "isolation_start",
    "隔离天数": "isolation_days",
    "独居": "lives_alone",
    "是否独居": "lives_alone",
    "紧急联系人": "emergency_contact",
    "紧急联系人电话": "emergency_contact",
    "家属电话": "emergency_contact",
    "通知家属": "notify_family",
    "备注": "notes",
    "呼叫时间": "preferred_times",
    "自定呼叫时间": "preferred_times",
}


def _column_name(cell: str) -> str:
    # "Isolation Start" and "isolation-start" mean isolation_start; a stray BOM is not a letter.
    name = re.sub(r"[\s\-]+", "_", cell.replace("\ufeff", "").strip().lower())
    return CHINESE_HEADERS.get(unicodedata.normalize("NFKC", name).strip("_*：:"), name)


def columns_help() -> str:
    """Every column, for the CLI's help and the import page."""
    return (
        f"required columns {', '.join(REQUIRED_COLUMNS)}; optional {', '.join(OPTIONAL_COLUMNS)} "
        f"(Chinese headers such as 姓名, 电话, 社区, 住址 are understood too)"
    )


@dataclass(frozen=True)
class _Header:
    index: Mapping[str, int]  # known column → position
    unknown: tuple[str, ...]
    unnamed: tuple[int, ...]  # positions of empty header cells
    width: int

    @classmethod
    def read(cls, cells: Sequence[str]) -> _Header:
        index: dict[str, int] = {}
        unknown: list[str] = []
        unnamed: list[int] = []
        for position, cell in enumerate(cells):
            name = _column_name(cell)
            if not name:
                unnamed.append(position)
            elif name not in COLUMNS:
                if cell.strip() not in unknown:
                    unknown.append(cell.strip())
            elif name in index:
                raise ImportFileError(f'column "{name}" appears twice in the header')
            else:
                index[name] = position
        missing = [name for name in REQUIRED_COLUMNS if name not in index]
        if missing:
            raise ImportFileError(_missing_columns_message(missing, cells))
        return cls(index, tuple(unknown), tuple(unnamed), len(cells))

    @property
    def known(self) -> frozenset[str]:
        return frozenset(self.index)

    def values(self, cells: Sequence[str]) -> dict[str, str]:
        return {name: cells[i] if i < len(cells) else "" for name, i in self.index.items()}

    def extra_cells(self, cells: Sequence[str]) -> bool:
        return any(cell.strip() for cell in cells[self.width :])

    def has_unnamed_data(self, cells: Sequence[str]) -> bool:
        return any(i < len(cells) and cells[i].strip() for i in self.unnamed)

    def warnings(self, unnamed_data: bool) -> tuple[str, ...]:
        found: list[str] = []
        if self.unknown:
            found.append(
                f"unknown {_plural(len(self.unknown), 'column')} ignored: "
                + ", ".join(self.unknown)
            )
        if unnamed_data:
            found.append("columns without a header name are ignored")
        return tuple(found)


def _missing_columns_message(missing: Sequence[str], cells: Sequence[str]) -> str:
    message = (
        f"missing required {_plural(len(missing), 'column')} {', '.join(missing)}: "
        f"the header row must name {', '.join(REQUIRED_COLUMNS)}"
    )
    # A one-cell header full of tabs or semicolons is a file saved with the wrong separator.
    if len(cells) == 1 and ("\t" in cells[0] or ";" in cells[0]):
        message += " separated by commas"
    return message


def _plural(count: int, word: str) -> str:
    return word if count == 1 else word + "s"


# --- one row -----------------------------------------------------------------------------------


class _CellError(ValueError):
    """A bad cell; the message is complete (column, value and reason)."""


def _parse_row(
    line: int,
    cells: Sequence[str],
    header: _Header,
    region: str,
    default_language: str,
    first_line_of_phone: dict[str, int],
) -> ParsedRow:
    values = header.values(cells)
    if header.extra_cells(cells):
        used = max(i for i, cell in enumerate(cells) if cell.strip()) + 1
        return ParsedRow(
            line,
            values,
            None,
            (
                f"{used} values but the header has {header.width} columns: "
                "put text that contains commas in double quotes",
            ),
        )
    cleaned, errors = _clean_cells(values, region, default_language)
    phone = cleaned.get("phone")
    if isinstance(phone, str):
        # The same phone and name twice is one resident listed twice; another name on the
        # same phone is a housemate.
        first = first_line_of_phone.setdefault(f"{phone} {cleaned.get('name')}", line)
        if first != line:
            errors.append(
                f'phone "{values["phone"].strip()}": same number and name as line {first}'
            )
        if phone == cleaned.get("emergency_contact"):
            errors.append("emergency_contact is the resident's own phone")
    if errors:
        return ParsedRow(line, values, None, tuple(errors))
    return ParsedRow(line, values, ResidentRow(**cleaned))  # type: ignore[arg-type]


def _clean_cells(
    values: Mapping[str, str], region: str, default_language: str
) -> tuple[dict[str, object], list[str]]:
    """Each present cell cleaned by its column's rule; absent columns take ResidentRow defaults."""
    rules: dict[str, Callable[[str, str], object]] = {
        "name": _required_text,
        "community": _required_text,
        "phone": lambda column, raw: _required_phone(column, raw, region),
        "address": _optional_text,
        "language": lambda column, raw: _language(column, raw, default_language),
        "isolation_start": _date,
        "isolation_days": _days,
        "lives_alone": _yes_no,
        "emergency_contact": lambda column, raw: _optional_phone(column, raw, region),
        "notify_family": _yes_no,
        "notes": _notes,
        "preferred_times": _times,
    }
    cleaned: dict[str, object] = {
        "language": default_language,
        "language_given": bool(values.get("language", "").strip()),
    }
    errors: list[str] = []
    for column, raw in values.items():
        try:
            cleaned[column] = rules[column](column, raw)
        except _CellError as exc:
            errors.append(str(exc))
    return cleaned, errors


def _single_line(raw: str) -> str:
    return " ".join(raw.split())


def _required_text(column: str, raw: str) -> str:
    value = _single_line(raw)
    if not value:
        raise _CellError(f"{column} is empty")
    _check_length(column, value)
    return value


def _optional_text(column: str, raw: str) -> str | None:
    value = _single_line(raw)
    _check_length(column, value)
    return value or None


def _notes(_column: str, raw: str) -> str | None:
    return raw.strip() or None  # notes may span lines on purpose


def parse_preferred_times(raw: str) -> str | None:
    """``10:30`` or ``9:30；17:00`` (also , 、 or spaces between) → ``"09:30,17:00"``; raises
    ValueError for anything else."""
    parts = re.split(r"[,;、\s]+", unicodedata.normalize("NFKC", raw).strip())
    times = sorted({_time_of_day(part) for part in parts if part})
    return ",".join(t.strftime("%H:%M") for t in times) or None


def _times(column: str, raw: str) -> str | None:
    try:
        return parse_preferred_times(raw)
    except ValueError:
        example = "not times of day such as 10:30;17:00"
        raise _CellError(f'{column} "{raw.strip()}": {example}') from None


def _time_of_day(text: str) -> dt.time:
    hours, sep, minutes = text.partition(":")  # 9:30 as well as 09:30
    if not (sep and hours.isdigit() and minutes.isdigit() and len(minutes) == 2):
        raise ValueError(text)
    return dt.time(int(hours), int(minutes))


def _check_length(column: str, value: str) -> None:
    limit = _MAX_LENGTHS.get(column)
    if limit is not None and len(value) > limit:
        raise _CellError(f"{column} is longer than {limit} characters")


def _required_phone(column: str, raw: str, region: str) -> str:
    if not raw.strip():
        raise _CellError(f"{column} is empty")
    return _phone(column, raw, region)


def _optional_phone(column: str, raw: str, region: str) -> str | None:
    return _phone(column, raw, region) if raw.strip() else None


def _phone(column: str, raw: str, region: str) -> str:
    try:
        return normalize_phone(raw, region)
    except PhoneError as exc:
        raise _CellError(f'{column} "{raw.strip()}": {exc}') from None


def _language(column: str, raw: str, default_language: str) -> str:
    value = unicodedata.normalize("NFKC", raw).strip()
    if not value:
        return default_language
    language = _LANGUAGE_ALIASES.get(value.lower())
    if language is None:
        raise _CellError(f'{column} "{raw.strip()}": not one of {", ".join(LANGUAGES)}')
    return language


def _date(column: str, raw: str) -> dt.date | None:
    if not raw.strip():
        return None
    try:
        return parse_day(raw)
    except ValueError:
        raise _CellError(f'{column} "{raw.strip()}": not a date such as 2026-11-28') from None


def parse_day(raw: str) -> dt.date:
    """2026-11-28, 2026/11/28, 2026.11.28 or 2026年11月28日, as staff type dates everywhere."""
    # NFKC: full-width digits from a Chinese input method ("２０２６年").
    match = _DATE.fullmatch(unicodedata.normalize("NFKC", raw).strip())
    if match is None:
        raise ValueError(f"{raw!r} is not a date such as 2026-11-28")
    year, month, day = (int(part) for part in match.groups())
    return dt.date(year, month, day)


def _days(column: str, raw: str) -> int:
    value = unicodedata.normalize("NFKC", raw).strip()
    if not value:
        return DEFAULT_ISOLATION_DAYS
    if not value.isdigit() or not 1 <= int(value) <= MAX_ISOLATION_DAYS:
        raise _CellError(
            f'{column} "{raw.strip()}": not a whole number of days from 1 to {MAX_ISOLATION_DAYS}'
        )
    return int(value)


def _yes_no(column: str, raw: str) -> bool:
    value = unicodedata.normalize("NFKC", raw).strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE or not value:
        return False
    raise _CellError(f'{column} "{raw.strip()}": not yes or no (1/0, 是/否)')


# --- phase 2: plan -----------------------------------------------------------------------------


def plan_import(session: Session, parsed: ParsedImport) -> ImportPlan:
    """Classify every good row against the database; reads only."""
    good = [(p.line, p.row) for p in parsed.rows if p.row is not None]
    existing = _residents_by_phone(session, [row.phone for _, row in good])
    planned = tuple(
        _plan_row(line, row, existing.get(row.phone, []), parsed.columns) for line, row in good
    )
    return ImportPlan(
        rows=planned,
        new_communities=_new_communities(session, planned),
        columns=parsed.columns,
        line_errors=tuple(LineError(p.line, e) for p in parsed.bad for e in p.errors),
        error_rows=len(parsed.bad),
        warnings=parsed.warnings,
    )


def _batches(items: Sequence[T]) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), _BATCH):
        yield items[start : start + _BATCH]


def _residents_by_phone(
    session: Session, phones: Sequence[str]
) -> dict[str, list[tuple[Resident, str]]]:
    """Residents with these phones (a household has several), each with its community's name
    (one query per batch)."""
    found: dict[str, list[tuple[Resident, str]]] = {}
    for batch in _batches(list(dict.fromkeys(phones))):
        query = (
            select(Resident, Community.name)
            .join(Resident.community)
            .where(Resident.phone.in_(batch))
            .order_by(Resident.id)
        )
        for resident, community in session.execute(query):
            found.setdefault(resident.phone, []).append((resident, community))
    return found


def _plan_row(
    line: int, row: ResidentRow, existing: list[tuple[Resident, str]], columns: frozenset[str]
) -> PlannedRow:
    same = [(r, c) for r, c in existing if r.name == row.name]
    if not same:
        housemates = tuple(r.name for r, _ in existing)
        return PlannedRow(line, row, Action.CREATE, housemates=housemates)
    resident, community = same[0]
    changes = tuple(_changes(resident, community, row, columns))
    action = Action.UPDATE if changes else Action.UNCHANGED
    return PlannedRow(line, row, action, resident.id, changes)


def _changes(
    resident: Resident, community: str, row: ResidentRow, columns: frozenset[str]
) -> Iterator[FieldChange]:
    # Column order, so a preview lists changes the way the file reads.
    for column in COLUMNS:
        if column == "phone" or column not in columns:
            continue
        old = community if column == "community" else getattr(resident, column)
        new = getattr(row, column)
        if old != new:
            yield FieldChange(column, old, new)


def _new_communities(session: Session, planned: Iterable[PlannedRow]) -> tuple[str, ...]:
    wanted = list(dict.fromkeys(p.row.community for p in planned if _needs_community(p)))
    known = _communities_by_name(session, wanted)
    return tuple(name for name in wanted if name not in known)


def _needs_community(planned: PlannedRow) -> bool:
    return planned.action == Action.CREATE or "community" in planned.changed_fields


def _communities_by_name(session: Session, names: Sequence[str]) -> dict[str, Community]:
    found: dict[str, Community] = {}
    for batch in _batches(names):
        found.update(
            (c.name, c) for c in session.scalars(select(Community).where(Community.name.in_(batch)))
        )
    return found


# --- phase 3: apply ----------------------------------------------------------------------------


def apply_import(
    session: Session,
    plan: ImportPlan,
    now: dt.datetime,
    *,
    actor: str = audit.SYSTEM,
    how: str | None = None,
) -> ImportReport:
    """Write ``plan`` into the session's transaction and flush; the caller commits.

    Every created community and created or updated resident gets an audit entry by ``actor``
    (field names only: the audit trail need not hold a second copy of phone numbers).

    Make the plan in the same transaction (or plan again on confirm): if a resident with a
    planned-new phone and name appeared in between, the import adds that resident again.
    """
    if now.tzinfo is None:
        raise ValueError("apply_import needs an aware datetime")
    todo = [p for p in plan.rows if p.action != Action.UNCHANGED]
    communities = _ensure_communities(session, [p for p in todo if _needs_community(p)], now)
    residents = _residents_by_id(session, [p.resident_id for p in todo if p.resident_id])
    written: list[tuple[PlannedRow, Resident]] = []
    for planned in todo:
        if planned.action == Action.CREATE:
            resident = _new_resident(planned.row, communities[planned.row.community], now)
            session.add(resident)
        else:
            assert planned.resident_id is not None  # every update names its resident
            resident = residents[planned.resident_id]
            _update_resident(resident, planned, communities, now)
        written.append((planned, resident))
    session.flush()  # ids for the audit entries
    _audit(session, now, actor, plan.new_communities, communities, written, how)
    session.flush()
    return plan.report(applied=True)


def _audit(
    session: Session,
    now: dt.datetime,
    actor: str,
    new_communities: Sequence[str],
    communities: Mapping[str, Community],
    written: Sequence[tuple[PlannedRow, Resident]],
    how: str | None,
) -> None:
    """``how`` replaces "from a residents CSV" when the rows did not come from a file."""
    for name in new_communities:
        if name in communities:
            audit.record(
                session,
                now,
                actor,
                "created",
                "community",
                communities[name].id,
                how or "from a residents CSV",
            )
    for planned, resident in written:
        if how:
            detail = how
        elif planned.action == Action.CREATE:
            detail = f"imported from CSV line {planned.line}"
        else:
            detail = f"CSV line {planned.line}: {', '.join(planned.changed_fields)}"
        created = "created" if how else "imported"
        action = created if planned.action == Action.CREATE else "updated"
        audit.record(session, now, actor, action, "resident", resident.id, detail)


def import_csv(
    session: Session,
    data: bytes | str,
    now: dt.datetime,
    region: str = "CN",
    default_language: str = "zh-CN",
    actor: str = audit.SYSTEM,
) -> ImportReport:
    """All three steps at once, for ``pingan residents import``; the caller commits."""
    plan = plan_import(session, parse_csv(data, region, default_language))
    return apply_import(session, plan, now, actor=actor)


def _ensure_communities(
    session: Session, planned: Sequence[PlannedRow], now: dt.datetime
) -> dict[str, Community]:
    names = list(dict.fromkeys(p.row.community for p in planned))
    communities = _communities_by_name(session, names)
    for name in names:  # first mention first, so ids follow the file
        if name not in communities:
            communities[name] = Community(name=name, created_at=now)
            session.add(communities[name])
    return communities


def _residents_by_id(session: Session, ids: Sequence[int]) -> dict[int, Resident]:
    found: dict[int, Resident] = {}
    for batch in _batches(ids):
        found.update(
            (r.id, r) for r in session.scalars(select(Resident).where(Resident.id.in_(batch)))
        )
    return found


def _new_resident(row: ResidentRow, community: Community, now: dt.datetime) -> Resident:
    return Resident(
        name=row.name,
        phone=row.phone,
        community=community,
        address=row.address,
        language=row.language if row.language_given else community.language or row.language,
        isolation_start=row.isolation_start,
        isolation_days=row.isolation_days,
        lives_alone=row.lives_alone,
        emergency_contact=row.emergency_contact,
        notify_family=row.notify_family,
        notes=row.notes,
        preferred_times=row.preferred_times,
        created_at=now,
        updated_at=now,
    )


def _update_resident(
    resident: Resident,
    planned: PlannedRow,
    communities: Mapping[str, Community],
    now: dt.datetime,
) -> None:
    for change in planned.changes:
        if change.field == "community":
            resident.community = communities[planned.row.community]
        else:
            setattr(resident, change.field, change.new)
    resident.updated_at = now
