"""Reading CRM field values: booleans, dates, countries, e-mail kinds and phone numbers. Pure functions."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any

import phonenumbers

from connector.mapping.phone_fastpath import fast_e164
from connector.models import EmailKind

__all__ = [
    "Unreadable",
    "as_bool",
    "as_date",
    "country_by_folded_name",
    "country_code",
    "email_kind",
    "folded_names",
    "legal_form_key",
    "phone_is_valid",
]

_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[A-Za-z]{2,}")
_LEGAL_NOISE = re.compile(r"[^0-9a-zà-ÿ ]+")


class Unreadable(ValueError):
    """A field value that does not fit its expected type; the message names the type only."""


def as_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    if value in (0, 1):
        return bool(value)
    raise Unreadable("expected a boolean")


def as_date(value: Any) -> date:
    """Dates, datetimes, ISO strings (``2026-01-31``, ``2026-01-31T10:00:00.000+0000``) and epoch milliseconds."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value / 1000, tz=UTC).date()
    if isinstance(value, str):
        text = value.strip()
        if text.isdigit() and len(text) >= 10:
            return datetime.fromtimestamp(int(text) / 1000, tz=UTC).date()
        try:
            return date.fromisoformat(text[:10])
        except ValueError:
            pass
    raise Unreadable("expected a date")


def country_code(value: Any, aliases: dict[str, str]) -> str | None:
    """An ISO alpha-2 code from a code or a country name in ``aliases`` (case-insensitive); None when unknown."""
    return country_by_folded_name(value, folded_names(aliases))


def folded_names(aliases: dict[str, str]) -> dict[str, str]:
    """Country name (case-folded) -> code: ``aliases`` as ``country_by_folded_name`` reads them."""
    return {name.casefold(): code for name, code in aliases.items()}


def country_by_folded_name(value: Any, folded: Mapping[str, str]) -> str | None:
    """``country_code`` with its aliases folded once (``folded_names``) for many records."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    if len(text) == 2 and text.isalpha():
        return "GB" if text.upper() == "UK" else text.upper()
    return folded.get(text.casefold())


def email_kind(address: Any, *, free_mail: frozenset[str], role_mailboxes: frozenset[str]) -> EmailKind:
    """Classify a well-formed address; raise Unreadable for a malformed one."""
    if not isinstance(address, str) or not _EMAIL.fullmatch(address.strip()):
        raise Unreadable("expected an e-mail address")
    local, _, domain = address.strip().lower().rpartition("@")
    if domain in free_mail:
        return EmailKind.FREE_MAIL
    if local.split("+")[0] in role_mailboxes:
        return EmailKind.ROLE_GENERIC
    return EmailKind.NAMED_BUSINESS


def phone_is_valid(number: Any, region: str | None) -> bool:
    """Whether ``number`` (E.164 or national format for ``region``) is a valid, dialable number."""
    if not isinstance(number, str) or not number.strip():
        return False
    return _valid_phone(number, region)


@lru_cache(maxsize=8_192)
def _valid_phone(number: str, region: str | None) -> bool:
    """phonenumbers' verdict, from the exact shortcut where it is sure (``phone_fastpath``); a number shared
    by many records (a switchboard) is parsed once while it stays among the recent ones."""
    if fast_e164(number, region) is not None:
        return True
    try:
        parsed = phonenumbers.parse(number, region)
    except phonenumbers.NumberParseException:
        return False
    return bool(phonenumbers.is_valid_number(parsed))


def legal_form_key(text: str) -> str:
    """Fold a company name or legal form for suffix matching: ``'Acme B.V.'`` -> ``'acme bv'``."""
    return " ".join(_LEGAL_NOISE.sub("", text.casefold()).split())
