"""How numbers are read aloud in each language, so a read-back sounds natural.

TTS engines read "36.5" inconsistently in Chinese, so Mandarin and Cantonese numbers are written
out in characters (三十六点五); phone numbers are read digit by digit.
"""

from __future__ import annotations

from decimal import Decimal

_ZH_DIGITS = "零一二三四五六七八九"


def _zh_integer(n: int) -> str:
    if n < 10:
        return _ZH_DIGITS[n]
    if n < 100:
        tens, ones = divmod(n, 10)
        head = "" if tens == 1 else _ZH_DIGITS[tens]
        return head + "十" + (_ZH_DIGITS[ones] if ones else "")
    return "".join(_ZH_DIGITS[int(d)] for d in str(n))


def _chinese_number(value: Decimal, point: str) -> str:
    sign = "负" if value < 0 else ""
    text = format(abs(value), "f")
    whole, _, frac = text.partition(".")
    frac = frac.rstrip("0")
    spoken = sign + _zh_integer(int(whole))
    if frac:
        spoken += point + "".join(_ZH_DIGITS[int(d)] for d in frac)
    return spoken


def say_number(value: Decimal, lang: str) -> str:
    """A decimal as it should be spoken in ``lang`` (``zh-CN``, ``yue`` or ``en``)."""
    if lang == "zh-CN":
        return _chinese_number(value, "点")
    if lang == "yue":
        return _chinese_number(value, "點")
    text = format(value.normalize(), "f")
    return text


def say_digits(number: str, lang: str) -> str:
    """A phone number read one digit at a time (TTS reads space-separated digits singly)."""
    digits = [c for c in number if c.isdigit()]
    if lang in ("zh-CN", "yue"):
        return "，".join(_ZH_DIGITS[int(d)] for d in digits)
    return " ".join(digits)


def say_time(hhmm: str, lang: str) -> str:
    """A time of day ("10:30") as spoken: 十点三十分 in Chinese; anything else is left as is."""
    hours, _, minutes = hhmm.partition(":")
    if lang not in ("zh-CN", "yue") or not (hours.isdigit() and minutes.isdigit()):
        return hhmm
    hour = "点" if lang == "zh-CN" else "點"
    spoken = _zh_integer(int(hours)) + hour
    return spoken + (_zh_integer(int(minutes)) + "分" if int(minutes) else "")
