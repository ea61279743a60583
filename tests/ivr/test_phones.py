"""Phone numbers as staff type them in China, stored as E.164, shown back the way people read."""

from __future__ import annotations

import pytest

from ivr.phones import PhoneError, can_text, display_phone, mask_phone, normalize_phone


@pytest.mark.parametrize(
    "raw",
    [
        "13812345678",
        "+86 138 1234 5678",
        "0086-138-1234-5678",
        "86 138 1234 5678",
        "１３８１２３４５６７８",  # full-width digits from a Chinese input method
        "138—1234—5678",
        "138－1234－5678",
        "138　1234　5678",  # ideographic spaces
        " 138 1234 5678 ",
        "tel:+8613812345678",
    ],
)
def test_a_chinese_mobile_written_any_usual_way_is_stored_in_e164(raw: str) -> None:
    assert normalize_phone(raw) == "+8613812345678"


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("0371-65123456", "+8637165123456"),
        ("(0371)65123456", "+8637165123456"),
        ("（0371）65123456", "+8637165123456"),
        ("0371 6512 3456", "+8637165123456"),
        ("０３７１－６５１２３４５６", "+8637165123456"),
        ("+86 (0)371 6512 3456", "+8637165123456"),
        ("010-12345678", "+861012345678"),
        ("021-6123 4567", "+862161234567"),
    ],
)
def test_a_landline_with_an_area_code_is_stored_in_e164(raw: str, e164: str) -> None:
    assert normalize_phone(raw) == e164


def test_a_number_with_a_country_code_keeps_its_country() -> None:
    assert normalize_phone("+44 20 7946 0958") == "+442079460958"


def test_the_region_decides_numbers_written_without_a_country_code() -> None:
    assert normalize_phone("(650) 253-0000", region="us") == "+16502530000"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("", "not a phone number"),
        ("abc", "not a phone number"),
        ("n/a", "not a phone number"),
        ("12345", "too short for a CN number"),
        ("+1 555", "too short for a US number"),
        ("1381234567", "not a valid number"),
        ("65123456", "a landline needs its area code, e.g. 0371-65123456"),
        ("+999 1234", "unknown country code"),
        ("+86 1381234567890123456", "too long to be a phone number"),
        ("13812345678转123", "has an extension, which cannot be dialled"),
        ("1.38123E+10", "Excel turned it into a rounded number; format the column as text"),
    ],
)
def test_a_number_that_cannot_be_dialled_is_refused_with_a_short_reason(
    raw: str, reason: str
) -> None:
    with pytest.raises(PhoneError) as caught:
        normalize_phone(raw)
    assert str(caught.value) == reason
    assert isinstance(caught.value, ValueError)


def test_separators_phonenumbers_would_stop_at_do_not_truncate_the_number() -> None:
    # phonenumbers alone reads "138～1234～5678" as "1381234".
    assert normalize_phone("138～1234～5678") == "+8613812345678"


@pytest.mark.parametrize(
    ("e164", "shown"),
    [
        ("+8613812345678", "138 1234 5678"),
        ("+8637165123456", "0371 6512 3456"),
        ("+861012345678", "010 1234 5678"),
        ("+442079460958", "+44 20 7946 0958"),  # abroad: with its country code
        ("not a number", "not a number"),  # old data is shown as it is, never an error
    ],
)
def test_staff_see_numbers_in_the_national_format(e164: str, shown: str) -> None:
    assert display_phone(e164) == shown


@pytest.mark.parametrize(
    ("e164", "masked"),
    [
        ("+8613812345678", "+86138****5678"),
        ("+8637165123456", "+86371****3456"),
        ("+861012345678", "+86101***5678"),
        ("+16502530000", "+1650***0000"),
        ("13812345678", "*******5678"),  # not E.164: still no more than the last 4 digits
    ],
)
def test_logs_show_a_masked_number(e164: str, masked: str) -> None:
    assert mask_phone(e164) == masked


@pytest.mark.parametrize(
    ("e164", "textable"),
    [
        ("+8613803710101", True),  # a mainland mobile
        ("+14155550123", True),  # a US number may be either: texts are tried
        ("+8637165012345", False),  # a Zhengzhou landline: the release is told by a call
        ("+864001234567", False),  # a 400 service number
        ("not a number", False),
    ],
)
def test_only_a_number_that_may_be_a_mobile_can_be_texted(e164: str, textable: bool) -> None:
    assert can_text(e164) is textable
