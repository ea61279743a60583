"""Reading a body temperature off a telephone keypad."""

from __future__ import annotations

from decimal import Decimal

MIN_VALID = Decimal("34.0")
MAX_VALID = Decimal("42.0")
POINT = "*"  # the key people press for a decimal point, as on a calculator


def parse_keyed_number(
    digits: str, decimals: int, min_value: Decimal, max_value: Decimal
) -> Decimal | None:
    """Turn keyed digits into a number, or ``None`` when they cannot be right.

    A keypad has no decimal point, so the last ``decimals`` digits are the fraction when the caller
    keyed them, and a short entry is a whole number: with one decimal, ``365`` is 36.5 and ``37``
    is 37.0; ``*`` keyed as a decimal point is one (``36*5`` is 36.5). Values outside
    ``[min_value, max_value]`` are rejected rather than clamped: a typo must be re-asked, never
    stored.
    """
    whole_len = len(str(int(max_value)))
    if decimals and digits.count(POINT) == 1:
        whole, fraction = digits.split(POINT)
        if len(whole) != whole_len or not 1 <= len(fraction) <= decimals:
            return None
        digits = whole + fraction.ljust(decimals, "0")
    if not digits.isdigit() or not digits.isascii():
        return None
    if decimals and len(digits) == whole_len + decimals:
        value = Decimal(digits).scaleb(-decimals)
    elif len(digits) == whole_len or (not decimals and len(digits) < whole_len):
        value = Decimal(digits)
    else:
        return None
    value = value.quantize(Decimal(1).scaleb(-decimals))
    return value if min_value <= value <= max_value else None


def parse_temperature(digits: str) -> Decimal | None:
    """``"365"`` → 36.5, ``"37"`` → 37.0; ``None`` unless 34.0–42.0 °C."""
    return parse_keyed_number(digits, 1, MIN_VALID, MAX_VALID)
