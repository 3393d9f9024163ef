"""An in-memory CRM behind the CrmPort protocol, for testing the sync shell without HTTP.

It keeps records as a CRM does (fields, modification time, deletion), pulls them in (modified, id) order from
a cursor, applies writes field by field, and can be told to fail: records gone, codes per record, quota spent
after N calls, or a crash after N pages.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from connector.crm.port import (
    ApiUsage,
    CrmRecord,
    Cursor,
    FieldUpdate,
    Page,
    WriteOutcome,
)
from connector.errors import QuotaExhaustedError

EPOCH = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)

SOURCES = ["Web", "LinkedIn", "KvK", "Supplier", "Purchased List", "Trade Show", "Webinar", "Other"]
COUNTRIES = ["Netherlands", "Germany", "Belgium", "France", "United Kingdom", "Atlantis"]
ACCOUNT_TYPES = ["Customer", "Prospect", "Supplier", "Partner", None, "Klant"]


def contact_fields(i: int) -> dict[str, Any]:
    """A deterministic, varied Salesforce-shaped contact: several sources, countries, legal forms."""
    return {
        "Email": f"person{i}@company{i % 97}.example" if i % 5 else f"info@company{i % 97}.example",
        "Phone": "+31 20 123 4567" if i % 3 else None,
        "MailingCountry": COUNTRIES[i % len(COUNTRIES)],
        "Account.Name": f"Company {i % 97} B.V." if i % 4 else f"Company {i % 97}",
        "Account.Type": ACCOUNT_TYPES[i % len(ACCOUNT_TYPES)],
        "LeadSource": SOURCES[i % len(SOURCES)],
        "Email_Opt_In_Date__c": "2026-03-01" if i % 7 == 0 else None,
        "HasOptedOutOfEmail": i % 11 == 0,
        "DoNotCall": i % 13 == 0,
    }


@dataclass
class FakeCrm:
    """The CrmPort of a tiny Salesforce-like org."""

    name: str = "salesforce"
    object_types: tuple[str, ...] = ("Contact",)
    page_size: int = 50
    records: dict[str, dict[str, Any]] = field(default_factory=dict)
    modified: dict[str, datetime] = field(default_factory=dict)
    deleted: set[str] = field(default_factory=set)
    gone_on_write: set[str] = field(default_factory=set)
    reject_on_write: dict[str, str] = field(default_factory=dict)
    quota_after_calls: int | None = None
    crash_after_pages: int | None = None
    calls: int = 0
    pages_served: int = 0
    writes: list[FieldUpdate] = field(default_factory=list)
    batch_limit: int = 200
    """The most updates one write call takes, as the Salesforce collections API does."""
    batch_sizes: list[int] = field(default_factory=list)
    """The size of every write call made."""
    clock: datetime = EPOCH + timedelta(days=30)

    @classmethod
    def seeded(cls, count: int, **options: Any) -> FakeCrm:
        crm = cls(**options)
        for i in range(count):
            record_id = f"003{i:012d}"
            crm.records[record_id] = contact_fields(i)
            crm.modified[record_id] = EPOCH + timedelta(minutes=i)
        return crm

    def _tick(self) -> datetime:
        self.clock += timedelta(seconds=1)
        return self.clock

    def edit(self, record_id: str, **values: Any) -> None:
        """A user's edit: new values and a new modification time."""
        self.records[record_id].update(values)
        self.modified[record_id] = self._tick()

    def delete(self, record_id: str) -> None:
        """A user's deletion: the record goes to the recycle bin, and its deletion is a change."""
        self.deleted.add(record_id)
        self.modified[record_id] = self._tick()

    def _call(self) -> None:
        if self.quota_after_calls is not None and self.calls >= self.quota_after_calls:
            raise QuotaExhaustedError("daily API budget spent (test)")
        self.calls += 1

    def now(self) -> datetime:
        """The CRM's clock, shared with the sync under test so that write windows and edits interleave."""
        return self._tick()

    def _own_echo(self, record_id: str, since: Cursor) -> bool:
        checked = self.records[record_id].get("Lawful_Use_Checked__c")
        if not checked or since.own_writes_from is None or since.own_writes_until is None:
            return False
        at = datetime.fromisoformat(checked.replace("Z", "+00:00"))
        last_change = self.modified[record_id]
        return since.own_writes_from <= at <= since.own_writes_until and last_change <= since.own_writes_until

    def _record(self, record_id: str, *, pulled: bool = False) -> CrmRecord:
        """The record as read; a pulled deletion carries no values, as the adapters pull them."""
        gone = pulled and record_id in self.deleted
        return CrmRecord(
            object_type="Contact",
            id=record_id,
            fields={} if gone else dict(self.records[record_id]),
            modified=self.modified[record_id],
            created=EPOCH,
            deleted=record_id in self.deleted,
        )

    def pull(self, object_type: str, *, since: Cursor | None) -> Iterator[Page]:
        keys = sorted((self.modified[i], i) for i in self.records)
        if since is not None:
            # like the adapters: changes after the cursor, minus records whose last change was our own write
            keys = [
                k for k in keys if k > (since.modified, since.last_id) and not self._own_echo(k[1], since)
            ]
        for start in range(0, len(keys), self.page_size):
            if self.crash_after_pages is not None and self.pages_served >= self.crash_after_pages:
                raise RuntimeError("crash injected by the test")
            self._call()
            chunk = keys[start : start + self.page_size]
            self.pages_served += 1
            last_modified, last_id = chunk[-1]
            records = tuple(self._record(i, pulled=True) for _, i in chunk)
            yield Page(records, Cursor(object_type, last_modified, last_id))

    def live_ids(self, object_type: str) -> Iterator[list[str]]:
        """The ids of the records not deleted, ``page_size`` a call, in id order (as the adapters list them)."""
        ids = sorted(set(self.records) - self.deleted)
        for start in range(0, len(ids), self.page_size):
            self._call()
            yield ids[start : start + self.page_size]

    def read(self, object_type: str, ids: Sequence[str]) -> list[CrmRecord]:
        self._call()
        return [self._record(i) for i in ids if i in self.records]

    def write(self, updates: Sequence[FieldUpdate]) -> list[WriteOutcome]:
        outcomes = []
        for start in range(0, len(updates), self.batch_limit):
            self._call()
            batch = updates[start : start + self.batch_limit]
            self.batch_sizes.append(len(batch))
            for update in batch:
                if update.record_id in self.gone_on_write or update.record_id in self.deleted:
                    outcomes.append(
                        WriteOutcome(update.record_id, ok=False, code="ENTITY_IS_DELETED", gone=True)
                    )
                elif update.record_id in self.reject_on_write:
                    code = self.reject_on_write[update.record_id]
                    outcomes.append(
                        WriteOutcome(
                            update.record_id, ok=False, code=code, temporary=code == "UNABLE_TO_LOCK_ROW"
                        )
                    )
                else:
                    self.records[update.record_id].update(update.values)
                    self.modified[update.record_id] = self._tick()
                    self.writes.append(update)
                    outcomes.append(WriteOutcome(update.record_id, ok=True))
        return outcomes

    def usage(self) -> ApiUsage:
        return ApiUsage(calls=self.calls)

    def written_ids(self) -> list[str]:
        return [update.record_id for update in self.writes]


def flags(fields: Mapping[str, Any]) -> tuple[Any, Any]:
    return fields.get("Do_Not_Cold_Call__c"), fields.get("Email_Allowed__c")
