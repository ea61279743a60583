"""Phone numbers in, E.164 out; and back out for people (display) and for logs (masked).

Everything stored and dialled is E.164 ("+8613812345678"). Staff type numbers the way they are
written in China: full-width digits from a Chinese input method, "—" or "－" between groups, an
area code in brackets, "0086" in front. ``normalize_phone`` accepts all of that and refuses
anything it cannot be sure of, with a short reason a person can act on.
"""

from __future__ import annotations

import re
import unicodedata

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumber, PhoneNumberFormat, ValidationResult

# Characters people put between digit groups. Stripped before parsing, because phonenumbers
# silently stops at some of them ("138～1234～5678" parses as "1381234") instead of failing.
_SEPARATORS = re.compile(r"[\s\-‐‑‒–—―−~.·・/()\[\]]")
_EXTENSION = re.compile(r"(?:转|轉|分机|分機|ext\.?|x|#)\s*\d+$", re.IGNORECASE)
# What Excel shows for a long number in a cell formatted as "General": the digits are gone.
_SCIENTIFIC = re.compile(r"\d(?:\.\d+)?e\+?\d+", re.IGNORECASE)
_E164_MAX_DIGITS = 15


class PhoneError(ValueError):
    """A number that cannot be used; the message is a short reason for a person."""


def normalize_phone(raw: str, region: str = "CN") -> str:
    """``raw`` as E.164; numbers without a country code are taken to be in ``region``.

    Raises ``PhoneError`` ("not a phone number", "too short for a CN number", ...) rather than
    guessing, because a wrong number means someone in isolation is never reached.
    """
    region = region.upper()
    cleaned = _clean(raw)
    number = _parse(cleaned, region)
    _check(number, region)
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


def display_phone(e164: str, region: str = "CN") -> str:
    """How people write the number: national format at home ("138 1234 5678",
    "0371 6512 3456"), international format ("+44 20 7946 0958") for other countries.

    Never raises: a value that does not parse (old data) is shown as it is.
    """
    try:
        number = phonenumbers.parse(e164, region.upper())
    except NumberParseException:
        return e164
    if phonenumbers.region_code_for_number(number) == region.upper():
        return phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL)
    return phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL)


def is_landline(e164: str) -> bool:
    """A fixed line, which no text reaches (a number that may be either counts as mobile)."""
    try:
        number = phonenumbers.parse(e164)
    except NumberParseException:
        return False
    return phonenumbers.number_type(number) == phonenumbers.PhoneNumberType.FIXED_LINE


TEXTABLE = (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE)


def can_text(e164: str) -> bool:
    """A number a text can reach: a mobile, or one that may be either. A landline, a VoIP or
    toll-free number, or one whose kind is unknown has no text channel."""
    try:
        number = phonenumbers.parse(e164)
    except NumberParseException:
        return False
    return phonenumbers.number_type(number) in TEXTABLE


def mask_phone(e164: str) -> str:
    """For logs: ``+8613812345678`` → ``+86138****5678`` (country code, first 3 and last 4).

    One star per hidden digit, so two masked numbers of different lengths still look different.
    Never raises, since it is called while logging; what does not parse keeps only its last 4.
    """
    try:
        number = phonenumbers.parse(e164, None)
    except NumberParseException:
        return _mask_digits(e164)
    national = phonenumbers.national_significant_number(number)
    return f"+{number.country_code}{_mask_national(national)}"


# An E.164 number quoted inside free text (a carrier's error message, an escalation's detail).
E164_IN_TEXT = re.compile(r"\+[1-9]\d{6,14}")


def mask_phones_in(text: str) -> str:
    """For logs: ``text`` with every E.164 number in it masked as ``mask_phone`` does."""
    return E164_IN_TEXT.sub(lambda match: mask_phone(match.group()), text)


def _mask_national(digits: str) -> str:
    if len(digits) >= 9:
        return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]
    # Too short to show 7 digits and still hide anything; keep only the tail.
    keep = min(2, len(digits))
    return "*" * (len(digits) - keep) + digits[len(digits) - keep :]


def _mask_digits(text: str) -> str:
    digits = re.sub(r"\D", "", text)
    if not digits:
        return "***"
    keep = min(4, len(digits) // 2)
    return "*" * (len(digits) - keep) + digits[len(digits) - keep :]


def _clean(raw: str) -> str:
    """Just the ``+`` and digits of ``raw``, or ``PhoneError`` if anything else is in it."""
    # NFKC turns full-width digits, brackets and spaces from Chinese input methods into ASCII.
    text = unicodedata.normalize("NFKC", raw).strip()
    if text.lower().startswith("tel:"):
        text = text[4:]
    if not text:
        raise PhoneError("not a phone number")
    if _SCIENTIFIC.fullmatch(text):
        raise PhoneError("Excel turned it into a rounded number; format the column as text")
    if _EXTENSION.search(text):
        raise PhoneError("has an extension, which cannot be dialled")
    compact = _SEPARATORS.sub("", text)
    if not re.fullmatch(r"\+?\d+", compact):
        raise PhoneError("not a phone number")
    if len(compact.lstrip("+0")) > _E164_MAX_DIGITS:
        raise PhoneError("too long to be a phone number")
    return compact


def _parse(cleaned: str, region: str) -> PhoneNumber:
    try:
        return phonenumbers.parse(cleaned, region)
    except NumberParseException as exc:
        if exc.error_type == NumberParseException.INVALID_COUNTRY_CODE:
            raise PhoneError("unknown country code") from None
        if exc.error_type in (
            NumberParseException.TOO_SHORT_AFTER_IDD,
            NumberParseException.TOO_SHORT_NSN,
        ):
            raise PhoneError(f"too short for a {region} number") from None
        if exc.error_type == NumberParseException.TOO_LONG:
            raise PhoneError("too long to be a phone number") from None
        raise PhoneError("not a phone number") from None


def _check(number: PhoneNumber, region: str) -> None:
    where = phonenumbers.region_code_for_country_code(number.country_code or 0)
    where = region if where in (None, "ZZ", "001") else where
    reason = phonenumbers.is_possible_number_with_reason(number)
    # "Possible local only" is a number missing its area code, e.g. 8 digits in China: for
    # dialling from elsewhere that is still too short.
    if reason in (ValidationResult.TOO_SHORT, ValidationResult.IS_POSSIBLE_LOCAL_ONLY):
        raise PhoneError(f"too short for a {where} number")
    if reason == ValidationResult.TOO_LONG:
        raise PhoneError(f"too long for a {where} number")
    if reason == ValidationResult.INVALID_COUNTRY_CODE:
        raise PhoneError("unknown country code")
    if not phonenumbers.is_valid_number(number):
        if where == "CN" and re.fullmatch(r"[2-9]\d{6,7}", str(number.national_number)):
            # The most common slip with landlines: the local number without its area code.
            raise PhoneError("a landline needs its area code, e.g. 0371-65123456")
        raise PhoneError("not a valid number")
