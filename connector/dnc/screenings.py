"""From one lookup's hits to the Screenings of each record. Pure.

A record may have several numbers (switchboard, mobile); the policy reads one Screening per list, so the
numbers' results are combined conservatively: listed if any number is listed, and the earliest ``since`` of the
listed ones (an unknown date counts as earliest: an old listing allows no grace period).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date

from connector.dnc.lists import lists_for_calling_code
from connector.models import RegisterList, Screening

__all__ = ["Wanted", "combine"]

Wanted = tuple[str, bytes, int]
"""One number of one record: (record id, number hash, calling code — which decides the lists that apply)."""

_UNKNOWN = date.min
"""Stands for an unknown ``since`` while combining: earlier than any real date."""
_ORDER = {register: index for index, register in enumerate(RegisterList)}


def combine(
    wanted: Iterable[Wanted],
    *,
    checked: Mapping[RegisterList, date],
    listed: Mapping[bytes, list[tuple[RegisterList, date | None]]],
) -> dict[str, tuple[Screening, ...]]:
    """Screenings per record id for every list in ``checked`` (the lists in use, with their check date)."""
    applicable: dict[int, tuple[RegisterList, ...]] = {}
    per_record: dict[str, dict[RegisterList, date | None]] = {}
    for record_id, number_hash, calling_code in wanted:
        lists = applicable.get(calling_code)
        if lists is None:
            lists = applicable[calling_code] = tuple(
                sorted(lists_for_calling_code(calling_code, checked), key=_ORDER.__getitem__)
            )
        results = per_record.get(record_id)
        if results is None:
            results = per_record[record_id] = {}
        for register in lists:
            results.setdefault(register, None)
        for register, since in listed.get(number_hash, ()):
            if register in lists:
                earlier = results[register]
                day = _UNKNOWN if since is None else since
                results[register] = day if earlier is None or day < earlier else earlier
    made: dict[tuple[RegisterList, date | None], Screening] = {}
    return {
        record_id: tuple(
            _screening(made, register, since, checked[register]) for register, since in results.items()
        )
        for record_id, results in per_record.items()
        if results
    }


def _screening(
    made: dict[tuple[RegisterList, date | None], Screening],
    register: RegisterList,
    since: date | None,
    checked: date,
) -> Screening:
    """The Screening for a list result (``since`` None = not listed); equal ones are shared (they are frozen)."""
    key = (register, since)
    screening = made.get(key)
    if screening is None:
        screening = made[key] = Screening.trusted(
            list=register,
            listed=since is not None,
            since=None if since is None or since == _UNKNOWN else since,
            checked=checked,
        )
    return screening
