"""The CrmPort protocol: what the sync needs from a CRM, in plain typed values (never SDK objects)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

__all__ = [
    "ApiUsage",
    "CrmPort",
    "CrmRecord",
    "Cursor",
    "FieldInfo",
    "FieldUpdate",
    "InstallReport",
    "Page",
    "WriteOutcome",
    "completed_writes",
    "note_completed_writes",
]


@dataclass(frozen=True, slots=True)
class CrmRecord:
    """One contact or lead as read: flat field values (parent fields as ``Account.Type``)."""

    object_type: str
    id: str
    fields: Mapping[str, Any]
    modified: datetime
    deleted: bool = False
    created: datetime | None = None
    """When the record was created: the stable date that undated checkbox facts are given."""


@dataclass(frozen=True, slots=True)
class Cursor:
    """Where an incremental pull stopped: the last modification time and record id seen, per object type.

    ``own_writes_from``/``own_writes_until`` bound the connector's own latest write-back (the sync sets them):
    a record whose ``checked`` field falls in that window and that was not modified after it changed only
    because we wrote it, and an incremental pull need not read it again.
    """

    object_type: str
    modified: datetime
    last_id: str
    own_writes_from: datetime | None = None
    own_writes_until: datetime | None = None


@dataclass(frozen=True, slots=True)
class Page:
    records: tuple[CrmRecord, ...]
    cursor: Cursor | None
    """The position after this page; None when the page is empty and nothing moved."""


@dataclass(frozen=True, slots=True)
class FieldUpdate:
    object_type: str
    record_id: str
    values: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class WriteOutcome:
    """Per-record result of a write: ``ok``, or the vendor error code and whether the record is gone."""

    record_id: str
    ok: bool
    code: str | None = None
    gone: bool = False


_COMPLETED = "lawful_crm_completed_writes"


def note_completed_writes(error: BaseException, outcomes: Sequence[WriteOutcome]) -> None:
    """Attach to `error` the outcomes of the writes a ``write`` call finished before `error` cut it short.

    An adapter writes in several calls; when retries run out in the middle, the records of the calls that went
    through are written all the same, and the caller must still audit them."""
    setattr(error, _COMPLETED, tuple(outcomes))


def completed_writes(error: BaseException) -> tuple[WriteOutcome, ...]:
    """The outcomes `note_completed_writes` attached to `error` (none when the write sent nothing)."""
    found = getattr(error, _COMPLETED, ())
    return found if isinstance(found, tuple) else ()


@dataclass(frozen=True, slots=True)
class InstallReport:
    created: tuple[str, ...] = ()
    unchanged: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    problems: tuple[str, ...] = field(default=())


@dataclass(frozen=True, slots=True)
class FieldInfo:
    """One field (or property) as the CRM describes it; parent fields are named ``Account.Type``."""

    name: str
    type: str
    """The CRM's own type name: ``picklist``, ``boolean``, ``enumeration``, ``string``, …"""
    writable: bool
    """Whether the connected user or app may update it (field-level security included)."""
    values: tuple[str, ...] | None = None
    """The active picklist or enumeration values; None for free fields."""


@dataclass(frozen=True, slots=True)
class ApiUsage:
    """API calls this adapter made since it was created, and the CRM's remaining daily quota when known."""

    calls: int
    remaining: int | None = None
    limit: int | None = None


class CrmPort(Protocol):
    """A CRM as the sync sees it. Implementations: SalesforceCrm, HubSpotCrm."""

    name: str
    """``salesforce`` or ``hubspot``: the key of its cursors and audit entries."""
    object_types: tuple[str, ...]
    """The objects this adapter syncs (the mapping's objects), e.g. ``("Contact", "Lead")``."""

    def pull(self, object_type: str, *, since: Cursor | None) -> Iterator[Page]:
        """Pages of records changed after ``since`` (all when None), oldest first, deletions included."""
        ...

    def read(self, object_type: str, ids: Sequence[str]) -> list[CrmRecord]:
        """The current state of the given records; missing ids are left out."""
        ...

    def write(self, updates: Sequence[FieldUpdate]) -> list[WriteOutcome]:
        """Write the updates in batches, retrying what is retriable; one outcome per update, same order."""
        ...

    def install(self, *, dry_run: bool, uninstall: bool) -> InstallReport:
        """Create (or remove) the write-back fields and their permissions; idempotent."""
        ...

    def describe(self, object_type: str) -> dict[str, FieldInfo]:
        """The fields of ``object_type`` the mapping and the write-back may use, keyed by name (parents too)."""
        ...

    def value_counts(self, object_type: str, field: str) -> dict[str, int]:
        """How many records hold each non-empty value of ``field`` (for ``mappings check``)."""
        ...

    def usage(self) -> ApiUsage:
        """Calls made so far and quota left, for the run summary."""
        ...
