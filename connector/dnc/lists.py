"""What each do-not-call list is: its country, how often it must be re-screened, how an import changes it. Pure.

National registers are replaced whole by each import (the operator downloads the full file). The own
suppression list is the record of people who told us not to call them (recht van verzet, PECR 21(1)(a)): it is
edited in place and an import only adds to it, because dropping an objection by accident would be unlawful.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from connector.models import RegisterList

__all__ = ["BLOCTEL_CONSUMER_OPT_IN", "BMNR_ABOLISHED", "LISTS", "ListSpec", "lists_for_calling_code"]

BMNR_ABOLISHED = date(2021, 7, 1)
BLOCTEL_CONSUMER_OPT_IN = date(2026, 8, 11)


@dataclass(frozen=True, slots=True)
class ListSpec:
    list: RegisterList
    region: str | None
    """Default region for numbers written in national format (None: the own list takes any country)."""
    calling_code: int | None
    """Numbers of this country calling code are screened against the list (None: every number)."""
    max_age_days: int | None
    """A copy older than this no longer counts as screening (None: the list is live or legacy)."""
    legacy: bool = False
    replaced_on_import: bool = True


LISTS: dict[RegisterList, ListSpec] = {
    spec.list: spec
    for spec in (
        ListSpec(RegisterList.BE_DNCM, "BE", 32, 30),
        ListSpec(RegisterList.UK_TPS, "GB", 44, 28),
        ListSpec(RegisterList.UK_CTPS, "GB", 44, 28),
        ListSpec(RegisterList.FR_BLOCTEL, "FR", 33, 30),
        ListSpec(RegisterList.US_DNC, "US", 1, 30),
        ListSpec(RegisterList.NL_BMNR, "NL", 31, None, legacy=True),
        ListSpec(RegisterList.OWN, None, None, None, replaced_on_import=False),
    )
}


def lists_for_calling_code(calling_code: int, imported: Iterable[RegisterList]) -> tuple[RegisterList, ...]:
    """The imported lists that screen a number with this calling code (the own list screens every number)."""
    return tuple(
        name
        for name in imported
        if LISTS[name].calling_code is None or LISTS[name].calling_code == calling_code
    )
