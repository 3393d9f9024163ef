"""Phone numbers as people write them -> E.164: every common national format of NL, BE, GB, FR, DE and US, the
rejections, and the fast path agreeing with phonenumbers wherever it answers."""

from __future__ import annotations

import random

import phonenumbers
import pytest
from phonenumbers import PhoneNumberFormat, PhoneNumberType

from connector.dnc.normalise import E164, InvalidNumberError, Rejected, Rejection, normalise, region_code
from connector.mapping.phone_fastpath import fast_e164

WRITTEN = {
    "+31201234567": [
        ("020-1234567", "NL"),
        ("020 123 4567", "NL"),
        ("(020) 123 45 67", "NL"),
        ("0201234567", "NL"),
        ("+31 (0)20 123 4567", "NL"),
        ("+31 20 123 4567", None),
        ("+31201234567", "GB"),
        ("0031 20 123 4567", "NL"),
        ("0031 (0)20 123 4567", "BE"),
        ("31201234567", "NL"),
    ],
    "+31612345678": [
        ("06-12345678", "NL"),
        ("06 1234 5678", "NL"),
        ("0612345678", "NL"),
        ("+31 6 1234 5678", None),
    ],
    "+3225114567": [
        ("02 511 45 67", "BE"),
        ("02/511.45.67", "BE"),
        ("+32 2 511 45 67", None),
        ("0032 2 511 45 67", "NL"),
    ],
    "+32470123456": [("0470 12 34 56", "BE"), ("0470/12.34.56", "BE"), ("+32 470 12 34 56", "FR")],
    "+442079460123": [
        ("020 7946 0123", "GB"),
        ("(020) 7946 0123", "GB"),
        ("02079460123", "GB"),
        ("+44 (0)20 7946 0123", None),
        ("+44 20 7946 0123", "NL"),
        ("0044 20 7946 0123", "NL"),
        ("020 7946 0123", "uk"),
    ],
    "+441214960123": [("0121 496 0123", "GB"), ("0121-496-0123", "GB")],
    "+447400123456": [("07400 123456", "GB"), ("+44 7400 123456", None)],
    "+33123456789": [
        ("01 23 45 67 89", "FR"),
        ("01.23.45.67.89", "FR"),
        ("0123456789", "FR"),
        ("+33 1 23 45 67 89", None),
        ("+33 (0)1 23 45 67 89", None),
        ("0033 1 23 45 67 89", "BE"),
    ],
    "+33612345678": [("06 12 34 56 78", "FR")],
    "+49301234567": [
        ("030 1234567", "DE"),
        ("030/1234567", "DE"),
        ("(030) 123 4567", "DE"),
        ("+49 30 1234567", None),
        ("0049 30 1234567", "NL"),
    ],
    "+4915123456789": [("0151 23456789", "DE"), ("+49 151 23456789", None)],
    "+12125550123": [
        ("(212) 555-0123", "US"),
        ("212-555-0123", "US"),
        ("212.555.0123", "US"),
        ("2125550123", "US"),
        ("1-212-555-0123", "US"),
        ("+1 (212) 555-0123", None),
        ("011 1 212 555 0123", "US"),
        ("001 212 555 0123", "NL"),
    ],
}
CASES = [(text, country, e164) for e164, forms in WRITTEN.items() for text, country in forms]


@pytest.mark.parametrize(("text", "country", "e164"), CASES)
def test_every_common_national_format_normalises_to_its_e164_entry(
    text: str, country: str | None, e164: str
) -> None:
    result = normalise(text, country)
    assert isinstance(result, E164)
    assert result.number == e164
    assert result.calling_code == phonenumbers.parse(e164).country_code


@pytest.mark.parametrize(
    ("text", "country", "reason"),
    [
        ("", "NL", Rejection.EMPTY),
        ("   ", "NL", Rejection.EMPTY),
        ("hello", "NL", Rejection.NOT_A_NUMBER),
        ("n/a", "GB", Rejection.NOT_A_NUMBER),
        ("0201234567", None, Rejection.NO_COUNTRY),
        ("+999 1234 5678", None, Rejection.UNKNOWN_COUNTRY_CODE),
        ("12", "NL", Rejection.INVALID),
        ("020 123 456", "NL", Rejection.INVALID),
        ("020123456789012345", "NL", Rejection.INVALID),
        ("01632 960123", "GB", Rejection.INVALID),  # Ofcom's drama range: never assigned, never on a register
        ("0032 2 123 45 67", "NL", Rejection.INVALID),  # no Brussels number
        ("+1 555 555 5555", None, Rejection.INVALID),
        ("9" * 120, "NL", Rejection.TOO_LONG),
    ],
)
def test_what_is_no_valid_number_is_rejected_with_a_reason(
    text: str, country: str | None, reason: Rejection
) -> None:
    assert normalise(text, country) == Rejected(reason)


def test_a_rejection_and_its_error_never_carry_the_number() -> None:
    rejected = normalise("020 123 456", "NL")
    assert isinstance(rejected, Rejected)
    error = InvalidNumberError(rejected.reason)
    for text in (repr(rejected), str(error), repr(error)):
        assert not any(c.isdigit() for c in text), text


def _example_forms() -> list[tuple[str, str | None]]:
    """Every region's example numbers of every type, written in the library's formats and as digits with an
    international prefix, a stray trunk zero, one digit too few and one too many."""
    forms: list[tuple[str, str | None]] = []
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for kind in (
            PhoneNumberType.FIXED_LINE,
            PhoneNumberType.MOBILE,
            PhoneNumberType.TOLL_FREE,
            PhoneNumberType.VOIP,
        ):
            example = phonenumbers.example_number_for_type(region, kind)
            if example is None:
                continue
            cc, nsn = example.country_code, phonenumbers.national_significant_number(example)
            for style in (
                PhoneNumberFormat.E164,
                PhoneNumberFormat.INTERNATIONAL,
                PhoneNumberFormat.NATIONAL,
            ):
                text = phonenumbers.format_number(example, style)
                forms += [(text, region), (text, "GB"), (text, None)]
            digits = "".join(
                c for c in phonenumbers.format_number(example, PhoneNumberFormat.NATIONAL) if c.isdigit()
            )
            forms += [(digits, region), (digits[:-1], region), (digits + "7", region)]
            forms += [(f"00{cc}{nsn}", "NL"), (f"011 {cc} {nsn}", "US"), (f"+{cc} (0){nsn}", region)]
    return forms


def _random_forms(count: int) -> list[tuple[str, str | None]]:
    rng = random.Random(20261128)
    regions = ["NL", "BE", "GB", "FR", "DE", "US", "JE", "IM", "CA", "IT", "RU", "AR", "BR"]
    prefixes = ["", "", "+", "0", "00", "+0", "011", "0031", "0044", "001", "+44 (0)"]
    forms: list[tuple[str, str | None]] = []
    for _ in range(count):
        digits = "".join(rng.choice("0123456789") for _ in range(rng.randint(2, 14)))
        forms.append((rng.choice(prefixes) + digits, rng.choice(regions)))
    return forms


def test_the_fast_path_answers_only_what_phonenumbers_answers_the_same() -> None:
    """Where the shortcut gives an E.164 number, phonenumbers parses the same text to a valid, equal number."""
    forms = _example_forms() + _random_forms(30_000)
    answered = 0
    for text, region in forms:
        fast = fast_e164(text, region)
        if fast is None:
            continue
        answered += 1
        parsed = phonenumbers.parse(text, region)
        assert phonenumbers.is_valid_number(parsed), (text, region)
        assert fast == (phonenumbers.format_number(parsed, PhoneNumberFormat.E164), parsed.country_code), (
            text,
            region,
        )
    assert answered > 5_000, "the shortcut should answer most well-formed numbers"


def test_the_common_shapes_take_the_fast_path() -> None:
    """Digits with spaces, dashes, dots, brackets, ``+`` or an international prefix; not slashes, a country
    code without ``+`` or the US trunk ``1``, which phonenumbers reads."""
    slow = {"31201234567", "02/511.45.67", "0470/12.34.56", "030/1234567", "1-212-555-0123"}
    for text, country, e164 in CASES:
        if text not in slow:
            assert fast_e164(text, region_code(country)) == (e164, phonenumbers.parse(e164).country_code), (
                text
            )
