"""What a CRM with a bulk write path offers a sync besides `CrmPort`: a Bulk write, the jobs a stopped run left,
and how its transfers went. Salesforce (Bulk API 2.0) has it; a sync checks with `isinstance`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from connector.crm.port import FieldUpdate, WriteOutcome

__all__ = ["BulkCapable", "BulkUsage"]


@dataclass(frozen=True, slots=True)
class BulkUsage:
    """Bulk calls made so far (among `ApiUsage.calls`), jobs created and their polls, and why each large
    transfer went by REST or by Bulk (no personal data: object, estimate, threshold)."""

    calls: int = 0
    jobs: int = 0
    polls: int = 0
    transfers: tuple[str, ...] = ()
    pulls: int = 0
    """Pulls that went in bulk (above their threshold): a run's write-back then goes in bulk from its start."""


@runtime_checkable
class BulkCapable(Protocol):
    bulk_write_threshold: int
    """A run writing more changes than this writes them in bulk."""
    write_batch: int
    """Updates per ordinary write call: a run's held changes go that many at a time, each call's outcomes settled
    as they come."""

    def write(self, updates: Sequence[FieldUpdate]) -> list[WriteOutcome]:
        """`CrmPort.write`: the ordinary write, for a run's changes up to the threshold."""
        ...

    def write_bulk(self, updates: Sequence[FieldUpdate]) -> list[WriteOutcome]:
        """Like `CrmPort.write`, in bulk jobs whatever the number of updates."""
        ...

    def finish_writes_in_flight(self) -> int:
        """End the bulk writes a stopped run left (abort unsent ones, wait for queued ones): before its
        pending entries are settled by reading the records back. Returns how many were found."""
        ...

    def bulk_usage(self) -> BulkUsage:
        """Bulk calls, jobs and polls so far, and the transfers chosen."""
        ...
