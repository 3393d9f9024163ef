"""The CRM protocols, in plain typed values (never SDK objects): `CrmPort`, what a sync needs from a CRM, and
`CrmAdmin`, what the admin commands need; an adapter implements both (`CrmAdapter`)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol, runtime_checkable

from connector.errors import ConnectorError
from connector.models import FieldInfo, FieldUpdate  # value types the protocols speak, kept with the models

__all__ = [
    "ApiUsage",
    "CrmAdapter",
    "CrmAdmin",
    "CrmPort",
    "CrmRecord",
    "Cursor",
    "FieldInfo",
    "FieldUpdate",
    "IdLister",
    "InstallReport",
    "Page",
    "WriteInterrupted",
    "WriteOutcome",
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
    consents_from: datetime | None = None
    """The newest change to a consent record kept apart from the records (Salesforce's
    ContactPointTypeConsent) that the pull has seen; None where the CRM keeps none or the pull did not look."""
    consents_seen: tuple[str, ...] = ()
    """The ids of the consent records changed within the pull's overlap before ``consents_from``: read already,
    so only a record changed later, or one committed late, makes the next pull read its people again."""


@dataclass(frozen=True, slots=True)
class Page:
    records: tuple[CrmRecord, ...]
    cursor: Cursor | None
    """The position after this page; None when the page is empty and nothing moved."""
    lag: timedelta = timedelta(0)
    """How long the records' values may trail the CRM's writes: a search index sees a write seconds late
    (HubSpot's), so it can show a record lawful-crm wrote a moment ago as it was before. Zero when the values
    are read from the records themselves. The sync reads again by id, before writing, the records of such a
    page it wrote within this time."""


@dataclass(frozen=True, slots=True)
class WriteOutcome:
    """Per-record result of a write: ``ok``, or the vendor error code and whether the record is gone.

    A record neither written nor gone was refused by the CRM for its values (a validation rule, a required
    field, a duplicate rule, a value out of range: the same write is refused again until the record changes),
    unless ``temporary``: the CRM could not write it now (a lock held past every retry)."""

    record_id: str
    ok: bool
    code: str | None = None
    gone: bool = False
    temporary: bool = False

    @property
    def refused(self) -> bool:
        """The CRM refused the values for this record (the same write will be refused until it changes)."""
        return not self.ok and not self.gone and not self.temporary


class WriteInterrupted(ConnectorError):
    """A ``write`` cut short after some of its calls went through.

    An adapter writes in several calls; when one of them fails for good (retries spent, quota, a refused
    field), the records of the calls that went through are written all the same. The caller records
    ``completed`` (their outcomes: written, refused or gone), then handles ``reason`` as its type says (retry
    later, stop the run, abort). The updates with no outcome may or may not have reached the CRM."""

    def __init__(self, reason: ConnectorError, *, completed: Sequence[WriteOutcome]) -> None:
        super().__init__(f"a write stopped after {len(completed)} outcomes: {type(reason).__name__}")
        self.reason = reason
        self.completed = tuple(completed)


@dataclass(frozen=True, slots=True)
class InstallReport:
    created: tuple[str, ...] = ()
    unchanged: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    problems: tuple[str, ...] = field(default=())


@dataclass(frozen=True, slots=True)
class ApiUsage:
    """API calls this adapter made since it was created, and the CRM's remaining daily quota when known."""

    calls: int
    remaining: int | None = None
    limit: int | None = None
    throttled: int = 0
    """Calls the CRM answered 429 (rate-limited), counted among ``calls``."""


@runtime_checkable
class IdLister(Protocol):
    """The part of a CRM that lists its records' ids (every CrmPort; a sharded sync needs only this)."""

    def live_ids(self, object_type: str) -> Iterator[list[str]]:
        """The ids of every live ``object_type`` record, a page at a time, each once: ids only, so cheap. Deleted
        records (recycle bin, archive), purged, GDPR-deleted and merged-away ones are not listed: reconciliation
        forgets the records the store manages that this does not list (and a read by id does not find)."""
        ...


class CrmPort(IdLister, Protocol):
    """A CRM as a sync sees it: pull, read, write, list ids, usage. Implementations: SalesforceCrm, HubSpotCrm."""

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
        """Write the updates in batches, retrying what is retriable; one outcome per update, same order.

        An error that stops the writing after some records got their outcome leaves as WriteInterrupted."""
        ...

    def usage(self) -> ApiUsage:
        """Calls made so far and quota left, for the run summary."""
        ...


class CrmAdmin(Protocol):
    """A CRM as the admin commands see it (``install``, ``mappings check``): its fields, not its records."""

    name: str
    """``salesforce`` or ``hubspot``."""

    def install(self, *, dry_run: bool, uninstall: bool) -> InstallReport:
        """Create (or remove) the write-back fields and their permissions; idempotent."""
        ...

    def describe(self, object_type: str) -> dict[str, FieldInfo]:
        """The fields of ``object_type`` the mapping and the write-back may use, keyed by name (parents too)."""
        ...

    def value_counts(self, object_type: str, field: str) -> dict[str, int]:
        """How many records hold each non-empty value of ``field`` (for ``mappings check``)."""
        ...


class CrmAdapter(CrmPort, CrmAdmin, Protocol):
    """A whole CRM adapter, both faces: what the composition root builds and hands to a sync or a command."""
