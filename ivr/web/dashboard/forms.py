"""Reading form fields and query arguments: every bad value becomes a ``FormError``.

A ``FormError`` is answered with 400 and its message (see ``errors.py``); views never see a
half-valid value. Limits follow the database columns, so PostgreSQL never refuses a write that
SQLite would have let through.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Collection, Mapping
from decimal import Decimal, InvalidOperation

from flask_babel import gettext as _

from ivr.domain.checkins import TEMPERATURE_RANGE, temperature_problem
from ivr.phones import PhoneError, normalize_phone

MAX_NOTE = 1000
MAX_PAGE = 100_000


class FormError(ValueError):
    def __init__(self, message: str, code: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def text(
    form: Mapping[str, str], name: str, label: str, *, limit: int, required: bool = False
) -> str | None:
    value = (form.get(name) or "").strip()
    if not value:
        if required:
            raise FormError(_("请填写%(field)s。", field=label))
        return None
    if len(value) > limit:
        raise FormError(_("%(field)s最多 %(limit)s 个字。", field=label, limit=limit))
    if any(unicodedata.category(c) == "Cc" and c not in "\r\n\t" for c in value):
        raise FormError(_("%(field)s含有无效字符。", field=label))
    return value


def required_text(form: Mapping[str, str], name: str, label: str, *, limit: int) -> str:
    value = text(form, name, label, limit=limit, required=True)
    assert value is not None
    return value


def choice(
    form: Mapping[str, str], name: str, label: str, options: Collection[str], required: bool = True
) -> str | None:
    value = (form.get(name) or "").strip()
    if not value and not required:
        return None
    if value not in options:
        raise FormError(_("请选择有效的%(field)s。", field=label))
    return value


def date_value(
    form: Mapping[str, str], name: str, label: str, required: bool = False
) -> dt.date | None:
    value = unicodedata.normalize("NFKC", form.get(name) or "").strip()
    if not value:
        if required:
            raise FormError(_("请填写%(field)s。", field=label))
        return None
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        raise FormError(_("%(field)s不是有效日期（例如 2026-11-28）。", field=label)) from None
    if not 2000 <= day.year <= 2100:
        raise FormError(_("%(field)s不是有效日期（例如 2026-11-28）。", field=label))
    return day


def integer(
    form: Mapping[str, str], name: str, label: str, *, low: int, high: int, required: bool = False
) -> int | None:
    value = unicodedata.normalize("NFKC", form.get(name) or "").strip()
    if not value:
        if required:
            raise FormError(_("请填写%(field)s。", field=label))
        return None
    if not value.isascii() or not value.lstrip("-").isdigit() or len(value) > 9:
        raise FormError(_("%(field)s必须是整数。", field=label))
    number = int(value)
    if not low <= number <= high:
        raise FormError(
            _("%(field)s必须在 %(low)s 到 %(high)s 之间。", field=label, low=low, high=high)
        )
    return number


def temperature(form: Mapping[str, str], name: str, label: str) -> Decimal | None:
    value = unicodedata.normalize("NFKC", form.get(name) or "").strip()
    if not value:
        return None
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise FormError(_("%(field)s必须是数字，例如 36.5。", field=label)) from None
    low, high = TEMPERATURE_RANGE
    if temperature_problem(number) is not None:
        if number == number.to_integral_value() and low * 10 <= number <= high * 10:
            raise FormError(
                _(
                    "%(field)s必须在 %(low)s 到 %(high)s 之间：您是不是要输入 %(guess)s？",
                    field=label,
                    low=low,
                    high=high,
                    guess=number / 10,
                )
            )
        raise FormError(
            _("%(field)s必须在 %(low)s 到 %(high)s 之间。", field=label, low=low, high=high)
        )
    return number.quantize(Decimal("0.1"))


def checkbox(form: Mapping[str, str], name: str) -> bool:
    return form.get(name) in ("1", "on", "true", "yes")


def page_number(args: Mapping[str, str]) -> int:
    return integer(args, "page", _("页码"), low=1, high=MAX_PAGE) or 1


def date_range(
    args: Mapping[str, str], default_to: dt.date, default_days: int, max_days: int
) -> tuple[dt.date, dt.date]:
    """``from``/``to`` (inclusive); by default the ``default_days`` up to ``default_to``."""
    day_to = date_value(args, "to", _("结束日期")) or default_to
    day_from = date_value(args, "from", _("开始日期")) or day_to - dt.timedelta(
        days=default_days - 1
    )
    if day_from > day_to:
        raise FormError(_("开始日期不能晚于结束日期。"))
    if (day_to - day_from).days >= max_days:
        raise FormError(_("日期范围最多 %(days)s 天。", days=max_days))
    return day_from, day_to


def phone(
    form: Mapping[str, str], name: str, label: str, region: str, required: bool = False
) -> str | None:
    """A phone number as E.164, however staff typed it."""
    raw = text(form, name, label, limit=40, required=required)
    if raw is None:
        return None
    try:
        return normalize_phone(raw, region)
    except PhoneError:
        raise FormError(_("%(field)s不是有效的电话号码。", field=label)) from None
