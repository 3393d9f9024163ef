"""The port through which the pipeline screens phone numbers against do-not-call registers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from connector.models import Screening

__all__ = ["PhoneScreener", "PhonesToScreen"]


@dataclass(frozen=True, slots=True)
class PhonesToScreen:
    """One record's phone numbers as the CRM holds them, and its country (the numbers' default region)."""

    numbers: Sequence[str]
    country: str | None


class PhoneScreener(Protocol):
    def screen(self, records: Mapping[str, PhonesToScreen]) -> dict[str, tuple[Screening, ...]]:
        """Screenings per record id for every register that applies to its numbers (one call per page)."""
        ...
