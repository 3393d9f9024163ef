"""A fast, exact shortcut to E.164 for numbers written as digits, an optional leading ``+`` and separators.

Register files hold millions of numbers, a sync reads one or two per record, and ``phonenumbers.parse`` plus
``is_valid_number`` cost about 25 µs each (far more for national formats). This module repeats, on the library's own metadata, the steps those two functions take for the common
shapes (``+442079460123``, ``02079460123``, ``020 7946 0123``, ``(212) 555-0123``, ``+31 (0)20 123 4567``) and
answers only when it is sure: it returns an E.164 number that the library would also return, or ``None`` —
"ask phonenumbers" — for everything else (other characters, international prefixes, national prefixes with a
transform rule, unknown or non-geographic country codes, numbers it finds invalid). It never rejects.
The unit tests compare it with phonenumbers on every region's example numbers in several formats.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Any

from phonenumbers import COUNTRY_CODE_TO_REGION_CODE, PhoneMetadata, region_code_for_country_code

__all__ = ["fast_e164"]

_PLAIN = re.compile(r"\+?[0-9]+")
_TYPE_DESCS = (
    "premium_rate",
    "toll_free",
    "shared_cost",
    "voip",
    "personal_number",
    "pager",
    "uan",
    "voicemail",
    "fixed_line",
    "mobile",
)
_NON_GEOGRAPHIC = "001"
_MIN_NSN = 2


@dataclass(frozen=True, slots=True)
class _Desc:
    """One number description of the metadata: the lengths it allows (empty = any) and its pattern."""

    lengths: frozenset[int]
    pattern: str


def _any_of(descs: list[_Desc]) -> re.Pattern[str] | None:
    """One pattern that fully matches what any of ``descs`` fully matches (a regex alternation)."""
    if not descs:
        return None
    return re.compile("|".join(f"(?:{d.pattern})" for d in descs))


@dataclass(frozen=True, slots=True)
class _Region:
    """What the shortcut needs of one region's metadata, compiled once."""

    country_code: int
    general_lengths: frozenset[int]
    general: re.Pattern[str]
    typed_by_length: dict[int, re.Pattern[str] | None]
    """Per length: the number types (fixed line, mobile, toll free …) that allow it, as one pattern."""
    typed_any_length: re.Pattern[str] | None
    possible_lengths: tuple[int, ...]
    local_lengths: frozenset[int]
    national_prefix: re.Pattern[str] | None
    has_transform_rule: bool
    international_prefix: re.Pattern[str] | None
    leading_digits: re.Pattern[str] | None

    def is_valid(self, nsn: str) -> bool:
        """``is_valid_number_for_region``: the general description and at least one number type match."""
        size = len(nsn)
        if self.general_lengths and size not in self.general_lengths:
            return False
        if self.general.fullmatch(nsn) is None:
            return False
        typed = self.typed_by_length.get(size, self.typed_any_length)
        return typed is not None and typed.fullmatch(nsn) is not None


def _desc(raw: Any) -> _Desc | None:
    if raw is None or not raw.national_number_pattern:
        return None
    return _Desc(frozenset(raw.possible_length or ()), raw.national_number_pattern)


def _typed_by_length(
    descs: list[_Desc], general_lengths: frozenset[int]
) -> dict[int, re.Pattern[str] | None]:
    lengths = set(general_lengths).union(*(d.lengths for d in descs))
    return {
        size: _any_of([d for d in descs if not d.lengths or size in d.lengths]) for size in sorted(lengths)
    }


def _optional_pattern(pattern: str | None) -> re.Pattern[str] | None:
    return re.compile(pattern) if pattern else None


@cache
def _region(code: str) -> _Region | None:
    metadata = PhoneMetadata.metadata_for_region(code, None)
    if metadata is None or metadata.country_code is None or metadata.general_desc is None:
        return None
    general = _desc(metadata.general_desc)
    if general is None:
        return None
    descs = [d for d in (_desc(getattr(metadata, name)) for name in _TYPE_DESCS) if d is not None]
    return _Region(
        country_code=metadata.country_code,
        general_lengths=general.lengths,
        general=re.compile(general.pattern),
        typed_by_length=_typed_by_length(descs, general.lengths),
        typed_any_length=_any_of([d for d in descs if not d.lengths]),
        possible_lengths=tuple(sorted(general.lengths)),
        local_lengths=frozenset(metadata.general_desc.possible_length_local_only or ()),
        national_prefix=_optional_pattern(metadata.national_prefix_for_parsing),
        has_transform_rule=bool(metadata.national_prefix_transform_rule),
        international_prefix=_optional_pattern(metadata.international_prefix),
        leading_digits=_optional_pattern(metadata.leading_digits),
    )


_CALLING_CODES = {str(code): code for code in COUNTRY_CODE_TO_REGION_CODE}


def _split_country_code(digits: str) -> tuple[int, str] | None:
    """The country calling code at the start of ``digits`` (1-3 digits, first match wins) and the rest."""
    for size in (1, 2, 3):
        code = _CALLING_CODES.get(digits[:size])
        if code is not None:
            return code, digits[size:]
    return None


@cache
def _main_region(calling_code: int) -> _Region | None:
    main = region_code_for_country_code(calling_code)
    return None if main == _NON_GEOGRAPHIC else _region(main)


def _length_allows_stripping(region: _Region, stripped: str) -> bool:
    """The library keeps a stripped national prefix unless the rest is too short, local-only or of no length."""
    size = len(stripped)
    lengths = region.possible_lengths
    if size in region.local_lengths or not lengths:
        return False
    if size < lengths[0]:
        return False
    return size > lengths[-1] or size in lengths


def _without_national_prefix(region: _Region, national: str) -> str | None:
    """The national significant number after the library's national-prefix step; None when unsure."""
    if region.national_prefix is None:
        return national
    found = region.national_prefix.match(national)
    if found is None:
        return national
    if region.has_transform_rule:
        return None
    stripped = national[found.end() :]
    general = region.general
    if general.fullmatch(national) and not general.fullmatch(stripped):
        return national
    return stripped if _length_allows_stripping(region, stripped) else national


def _is_valid(country_code: int, nsn: str) -> bool:
    """``is_valid_number``: find the number's region among those sharing its code, then validate there."""
    regions = COUNTRY_CODE_TO_REGION_CODE[country_code]
    for code in regions:
        region = _region(code)
        if region is None:
            continue
        if len(regions) == 1:
            return region.is_valid(nsn)
        if region.leading_digits is not None:
            if region.leading_digits.match(nsn):
                return region.is_valid(nsn)
        elif region.is_valid(nsn):
            return True
    return False


def fast_e164(text: str, default_region: str | None) -> tuple[str, int] | None:
    """E.164 form and calling code of ``text`` when the shortcut is sure it is valid; else None (ask phonenumbers)."""
    plain = text.replace(" ", "").replace("-", "").replace(".", "").replace("(", "").replace(")", "")
    if not _PLAIN.fullmatch(plain):
        return None
    region = None
    if plain[0] != "+":
        region = _region(default_region) if default_region else None
        if region is None:
            return None
        idd = region.international_prefix.match(plain) if region.international_prefix else None
        if idd is not None:
            if plain[idd.end() : idd.end() + 1] in ("", "0"):
                return None
            plain = "+" + plain[idd.end() :]
    if plain[0] == "+":
        split = _split_country_code(plain[1:])
        if split is None:
            return None
        country_code, national = split
        region = _main_region(country_code)
    elif region is None or plain.startswith(str(region.country_code)):
        return None
    else:
        country_code, national = region.country_code, plain
    if region is None or len(national) < _MIN_NSN:
        return None
    nsn = _without_national_prefix(region, national)
    if nsn is None or not _is_valid(country_code, nsn):
        return None
    return f"+{country_code}{nsn}", country_code
