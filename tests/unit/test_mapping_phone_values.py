"""The mapping's phone check gives phonenumbers' verdict on every shape, through the exact shortcut or not."""

from __future__ import annotations

import phonenumbers

from connector.mapping.values import phone_is_valid
from tests.unit.test_dnc_normalise import _example_forms, _random_forms


def _library_verdict(text: str, region: str | None) -> bool:
    try:
        return bool(phonenumbers.is_valid_number(phonenumbers.parse(text, region)))
    except phonenumbers.NumberParseException:
        return False


def test_a_number_is_valid_exactly_when_phonenumbers_says_so() -> None:
    forms = _example_forms() + _random_forms(10_000) + [("020 7946 0123", "GB"), ("06-1234567", "NL")]
    for text, region in forms:
        assert phone_is_valid(text, region) == _library_verdict(text, region), (text, region)


def test_a_number_read_again_gets_the_same_verdict() -> None:
    assert phone_is_valid("+31 6 1234 5678", "NL") and phone_is_valid("+31 6 1234 5678", "NL")
    assert not phone_is_valid("12", "NL") and not phone_is_valid("12", "NL")
    assert not phone_is_valid("  ", "NL") and not phone_is_valid(None, "NL")
