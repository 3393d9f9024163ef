"""What an import, a status query or a check tells the operator, and the pure rules that decide it.

Reports carry counts, line numbers, list names and dates: never a phone number (the one exception is
``CheckResult.number``, the operator's own input read back to them, see ``cli.check``).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum

from connector.dnc.lists import BLOCTEL_CONSUMER_OPT_IN, BMNR_ABOLISHED, ListSpec
from connector.dnc.normalise import Rejection
from connector.models import RegisterList, Screening

__all__ = [
    "CheckResult",
    "FileTally",
    "ImportOutcome",
    "ImportReport",
    "ListStatus",
    "RejectedLines",
    "import_report",
    "list_status",
    "refusal",
]

SHOWN_REJECTED_LINES = 20


class ImportOutcome(StrEnum):
    REPLACED = "replaced"
    """A national register: the file is now the list in use."""
    MERGED = "merged"
    """The own list: the file's numbers were added to it."""
    REFUSED = "refused"
    """Too many lines were no valid number, or none was: nothing changed."""
    CONFLICT = "conflict"
    """Another import of the same list finished first: nothing of this one was kept."""


@dataclass
class RejectedLines:
    """Counts rejected lines by reason and keeps the first line numbers to show."""

    count: int = 0
    first: list[int] = field(default_factory=list)
    reasons: Counter[str] = field(default_factory=Counter)

    def add(self, line_no: int, reason: Rejection) -> None:
        self.count += 1
        self.reasons[reason.value] += 1
        if len(self.first) < SHOWN_REJECTED_LINES:
            self.first.append(line_no)


@dataclass
class FileTally:
    """What reading one list file found: data lines, the rejected ones, blank and comment lines."""

    read: int = 0
    skipped: int = 0
    rejected: RejectedLines = field(default_factory=RejectedLines)

    @property
    def valid(self) -> int:
        return self.read - self.rejected.count


@dataclass(frozen=True, slots=True)
class ImportReport:
    list: RegisterList
    as_of: date
    outcome: ImportOutcome
    read: int
    """Data lines read (blank and comment lines are ``skipped``)."""
    stored: int
    """Numbers in the new version (a register) or newly added (the own list)."""
    duplicates: int
    """Valid lines whose number was already stored: repeated in the file or, for the own list, already on it."""
    rejected: int
    rejected_lines: tuple[int, ...]
    """The first rejected line numbers, in file order."""
    rejected_reasons: dict[str, int]
    skipped: int
    elapsed_s: float
    previous: date | None = None
    """The date of the copy this import replaced."""
    message: str | None = None

    @property
    def ok(self) -> bool:
        return self.outcome in (ImportOutcome.REPLACED, ImportOutcome.MERGED)

    def as_dict(self) -> dict[str, object]:
        return {
            "list": self.list.value,
            "as_of": self.as_of.isoformat(),
            "outcome": self.outcome.value,
            "read": self.read,
            "stored": self.stored,
            "duplicates": self.duplicates,
            "rejected": self.rejected,
            "rejected_lines": list(self.rejected_lines),
            "rejected_reasons": dict(sorted(self.rejected_reasons.items())),
            "skipped": self.skipped,
            "elapsed_s": round(self.elapsed_s, 3),
            "previous": self.previous.isoformat() if self.previous else None,
            "message": self.message,
        }


def import_report(
    register: RegisterList,
    as_of: date,
    outcome: ImportOutcome,
    tally: FileTally,
    *,
    stored: int,
    elapsed_s: float,
    previous: date | None = None,
    message: str | None = None,
) -> ImportReport:
    applied = outcome in (ImportOutcome.REPLACED, ImportOutcome.MERGED)
    return ImportReport(
        list=register,
        as_of=as_of,
        outcome=outcome,
        read=tally.read,
        stored=stored,
        duplicates=tally.valid - stored if applied else 0,
        rejected=tally.rejected.count,
        rejected_lines=tuple(tally.rejected.first),
        rejected_reasons=dict(tally.rejected.reasons),
        skipped=tally.skipped,
        elapsed_s=elapsed_s,
        previous=previous,
        message=message,
    )


def refusal(read: int, rejected: int, max_rejected_share: float) -> str | None:
    """Why a file is refused as a whole, or None: no valid number, or more garbage than the share allows."""
    if read == 0:
        return "the file holds no number"
    if read == rejected:
        return f"none of the {read} lines is a valid number of this list"
    if rejected / read > max_rejected_share:
        return (
            f"{rejected} of {read} lines are no valid number of this list"
            f" (more than {max_rejected_share:.0%} is taken for a wrong or damaged file)"
        )
    return None


@dataclass(frozen=True, slots=True)
class ListStatus:
    list: RegisterList
    imported: bool
    as_of: date | None
    size: int
    updated_at: datetime | None
    age_days: int | None
    max_age_days: int | None
    stale: bool
    legacy: bool
    warnings: tuple[str, ...]

    def as_dict(self) -> dict[str, object]:
        return {
            "list": self.list.value,
            "imported": self.imported,
            "as_of": self.as_of.isoformat() if self.as_of else None,
            "size": self.size,
            "updated_at": self.updated_at.isoformat() if self.updated_at else None,
            "age_days": self.age_days,
            "max_age_days": self.max_age_days,
            "stale": self.stale,
            "legacy": self.legacy,
            "warnings": list(self.warnings),
        }


def list_status(
    spec: ListSpec, *, as_of: date | None, size: int, updated_at: datetime | None, today: date
) -> ListStatus:
    """A list's state and what the operator should know about it on ``today``."""
    warnings: list[str] = []
    age = (today - as_of).days if as_of is not None else None
    stale = spec.max_age_days is not None and age is not None and age > spec.max_age_days
    if spec.legacy:
        warnings.append(
            f"legacy: the Bel-me-niet register was abolished on {BMNR_ABOLISHED}; its numbers decide no call"
            " (Dutch calls to natural persons need consent since then)"
        )
    elif as_of is None and spec.max_age_days is not None:
        warnings.append(
            "never imported: numbers of this country count as unscreened against it, which allows no call"
            f" where the law requires it (a copy must be at most {spec.max_age_days} days old)"
        )
    elif stale:
        warnings.append(
            f"stale: the copy of {as_of} is {age} days old, more than the {spec.max_age_days} days a screening"
            " counts; numbers of this country are not called until a newer copy is imported"
        )
    if spec.list is RegisterList.FR_BLOCTEL and today >= BLOCTEL_CONSUMER_OPT_IN:
        warnings.append(
            f"since {BLOCTEL_CONSUMER_OPT_IN} French consumers may be called only with consent: Bloctel no"
            " longer allows calls to them"
        )
    return ListStatus(
        list=spec.list,
        imported=as_of is not None,
        as_of=as_of,
        size=size,
        updated_at=updated_at,
        age_days=age,
        max_age_days=spec.max_age_days,
        stale=stale,
        legacy=spec.legacy,
        warnings=tuple(warnings),
    )


@dataclass(frozen=True, slots=True)
class CheckResult:
    """One number checked by hand: its E.164 form, its screenings, and the lists that would apply but are
    not imported (so the number counts as unscreened against them)."""

    number: str
    screenings: tuple[Screening, ...]
    not_imported: tuple[RegisterList, ...]

    def as_dict(self) -> dict[str, object]:
        return {
            "number": self.number,
            "screenings": [s.model_dump(mode="json") for s in self.screenings],
            "not_imported": [name.value for name in self.not_imported],
        }
