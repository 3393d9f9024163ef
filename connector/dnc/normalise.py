"""Phone numbers as people write them -> E.164, or a typed rejection. Pure.

Registers and the CRM write numbers in many shapes (``020-1234567``, ``+31 (0)20 123 4567``,
``0032 2 511 45 67``, ``(212) 555-0123``); stored and compared, a number is always its E.164 form. Parsing and
validation are phonenumbers' (with the list's or the contact's country as the default region for national
formats); ``connector.mapping.phone_fastpath`` answers the common shapes faster with the same result. A rejection carries a reason
code only: the number never appears in an error, a log line or a report.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import NamedTuple

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat

from connector.mapping.phone_fastpath import fast_e164

__all__ = ["E164", "InvalidNumberError", "Rejected", "Rejection", "has_letters", "normalise", "region_code"]

_MAX_INPUT = 100


class Rejection(StrEnum):
    """Why a text is not a number we can screen."""

    EMPTY = "empty"
    NOT_A_NUMBER = "not_a_number"
    NO_COUNTRY = "no_country"
    """National format, and no default country to read it with."""
    UNKNOWN_COUNTRY_CODE = "unknown_country_code"
    TOO_SHORT = "too_short"
    TOO_LONG = "too_long"
    INVALID = "invalid"
    """Parsed, but no valid number of its country (an unassigned range, a digit too many or too few)."""
    WRONG_COUNTRY = "wrong_country"
    """Valid, but not a number of the register's country (set by the importer, not by ``normalise``)."""


@dataclass(frozen=True, slots=True)
class Rejected:
    reason: Rejection


class E164(NamedTuple):
    """A valid number in E.164 form (``+442079460123``) and its country calling code (44).

    A named tuple rather than a dataclass: millions are made during an import, and a tuple is made fastest."""

    number: str
    calling_code: int


_PARSE_ERRORS = {
    NumberParseException.INVALID_COUNTRY_CODE: Rejection.UNKNOWN_COUNTRY_CODE,
    NumberParseException.NOT_A_NUMBER: Rejection.NOT_A_NUMBER,
    NumberParseException.TOO_SHORT_AFTER_IDD: Rejection.TOO_SHORT,
    NumberParseException.TOO_SHORT_NSN: Rejection.TOO_SHORT,
    NumberParseException.TOO_LONG: Rejection.TOO_LONG,
}


_LETTER = re.compile(r"[^\W\d_]")


def has_letters(text: str) -> bool:
    """Whether ``text`` holds a letter. phonenumbers reads letters as keypad digits (vanity numbers), so a
    garbage line of a register file could become a number; a register lists digits only."""
    return _LETTER.search(text) is not None


def region_code(country: str | None) -> str | None:
    """An ISO 3166-1 alpha-2 code as phonenumbers names regions (``uk`` and ``UK`` are ``GB``)."""
    if not country:
        return None
    code = country.strip().upper()
    return "GB" if code == "UK" else code


def normalise(text: str, country: str | None) -> E164 | Rejected:
    """``text`` as an E.164 number, reading national formats as numbers of ``country``; else why not."""
    text = text.strip()
    if not text:
        return Rejected(Rejection.EMPTY)
    if len(text) > _MAX_INPUT:
        return Rejected(Rejection.TOO_LONG)
    region = region_code(country)
    fast = fast_e164(text, region)
    if fast is not None:
        return E164(*fast)
    return _parse(text, region)


def _parse(text: str, region: str | None) -> E164 | Rejected:
    try:
        parsed = phonenumbers.parse(text, region)
    except NumberParseException as exc:
        if exc.error_type == NumberParseException.INVALID_COUNTRY_CODE and not text.lstrip().startswith("+"):
            known = region is not None and region in phonenumbers.SUPPORTED_REGIONS
            return Rejected(Rejection.UNKNOWN_COUNTRY_CODE if known else Rejection.NO_COUNTRY)
        return Rejected(_PARSE_ERRORS.get(exc.error_type, Rejection.NOT_A_NUMBER))
    if not phonenumbers.is_valid_number(parsed):
        return Rejected(Rejection.INVALID)
    number = str(phonenumbers.format_number(parsed, PhoneNumberFormat.E164))
    return E164(number, parsed.country_code or 0)


class InvalidNumberError(ValueError):
    """A number typed by an operator is not one we can store or check; the message names the reason only."""

    def __init__(self, reason: Rejection) -> None:
        super().__init__(f"not a valid phone number ({reason.value})")
        self.reason = reason
