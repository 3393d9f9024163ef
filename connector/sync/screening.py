"""The port through which the pipeline screens phone numbers against do-not-call registers.

Numbers are screened in two steps so that the store can keep what a record's screening rests on without
keeping a number: ``numbers`` turns a record's numbers into keyed hashes (with their calling codes), and
``screen_numbers`` screens hashes. A record decided again from the store (its decision expired, a register or
the policy changed) is screened again from the hashes kept for it, with no call to the CRM.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from connector.models import Screening

__all__ = ["HashedNumber", "PhoneScreener", "PhonesToScreen"]

HashedNumber = tuple[str, int]
"""One valid number of a record: its keyed hash (hex) and calling code (which decides the registers)."""


@dataclass(frozen=True, slots=True)
class PhonesToScreen:
    """One record's phone numbers as the CRM holds them, and its country (the numbers' default region)."""

    numbers: Sequence[str]
    country: str | None


class PhoneScreener(Protocol):
    def numbers(self, records: Mapping[str, PhonesToScreen]) -> dict[str, tuple[HashedNumber, ...]]:
        """The valid numbers of each record as keyed hashes; records without one are left out."""
        ...

    def screen_numbers(
        self, records: Mapping[str, Sequence[HashedNumber]]
    ) -> dict[str, tuple[Screening, ...]]:
        """Screenings per record id for every register in use that applies to its numbers (one lookup)."""
        ...

    def version(self) -> str:
        """A token that changes whenever any register or the own list changes: a record screened under
        another token is screened again."""
        ...
