"""The emulated org's records: seeded ones rendered on demand, plus an overlay of everything written since.

A seeded record costs nothing until it is written: `get` renders it from `seed` and merges the overlay.
Records created through the API (permission sets, custom-field metadata, ...) live in `created`. Every write
moves `SystemModstamp` and `LastModifiedDate`. Field-level security for fields created at run time is
derived from the FieldPermissions records of permission sets assigned to the integration user; an admin can
also take standard fields away from it (`restrict`, a restricted integration user's profile).

A deleted record sits in the recycle bin (`deleted`) until `empty_recycle_bin` purges it, RECYCLE_BIN_DAYS
after its deletion on the store's clock: from then on no query, `queryAll` included, knows it.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from crm_sandbox.modindex import ModIndex, Tie
from crm_sandbox.salesforce import consent_seed
from crm_sandbox.salesforce import seed as seeding
from crm_sandbox.salesforce.ids import make_id, parse_id
from crm_sandbox.salesforce.schema import FieldSpec, ObjectSpec, build_schema

RECYCLE_BIN_DAYS = 15
"""Salesforce empties the recycle bin of records deleted more than 15 days ago."""
CREATED_BASE = 1_000_000_000  # indexes of records created through the API start here
INTEGRATION_USER_INDEX = CREATED_BASE

Record = dict[str, Any]
ChangeListener = Callable[[str, Record, str], None]
"""Called after every API write with the object name, the record as now stored, and "created" or "updated"."""


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def micros(moment: datetime) -> int:
    """A datetime as exact microseconds since the epoch (the SystemModstamp index key)."""
    return (moment - _EPOCH) // _MICROSECOND


@functools.cache
def id_order(prefix: str) -> Tie:
    """The `ORDER BY Id` key of a record index of the object with this key prefix (lower-cased id)."""

    def tie(index: int) -> str:
        return make_id(prefix, index).lower()

    return tie


def mailing_address(record: Record) -> dict[str, Any] | None:
    """The compound `MailingAddress` of a Contact, built from its parts (None when every part is empty)."""
    parts = {
        "street": record.get("MailingStreet"), "city": record.get("MailingCity"),
        "state": record.get("MailingState"), "postalCode": record.get("MailingPostalCode"),
        "country": record.get("MailingCountry"),
    }  # fmt: skip
    if not any(parts.values()):
        return None
    return {**parts, "geocodeAccuracy": None, "latitude": None, "longitude": None}


def utc_now() -> datetime:
    """Now, in UTC, at the one-second precision Salesforce stores."""
    return datetime.now(UTC).replace(microsecond=0)


class Store:
    """All records of one emulated org; thread-safe (the web app and the test's Python API share it)."""

    def __init__(
        self, *, seed: int, contacts: int, leads: int, clock: Callable[[], datetime] = utc_now
    ) -> None:
        self.seed, self.contacts, self.leads = seed, contacts, leads
        self._seeded = {
            "contact": contacts, "lead": leads, "account": contacts, "opportunity": contacts,
            "individual": contacts + leads,
            "contactpointtypeconsent": (contacts + leads) * consent_seed.CONSENT_SLOTS,
            "datausepurpose": len(consent_seed.PURPOSES),
        }  # fmt: skip
        self.schema: dict[str, ObjectSpec] = build_schema()
        self.clock = clock
        self.lock = threading.RLock()
        self.overlay: dict[str, dict[int, Record]] = {name: {} for name in self.schema}
        self.created: dict[str, dict[int, Record]] = {name: {} for name in self.schema}
        self.deleted: dict[str, dict[int, datetime]] = {name: {} for name in self.schema}
        self.purged: dict[str, set[int]] = {name: set() for name in self.schema}
        self.purged_through: datetime | None = None
        """The latest deletion time of a purged record (`earliestDateAvailable` of getDeleted)."""
        self._restricted: set[str] = set()
        self.write_log: list[tuple[str, str, tuple[str, ...]]] = []
        self.listeners: list[ChangeListener] = []
        self._next = dict.fromkeys(self.schema, CREATED_BASE)
        self._fls_read: set[str] = set()
        self._fls_edit: set[str] = set()
        self._fls_static: set[str] = set()
        self.modstamps: dict[str, ModIndex] = {
            "contact": ModIndex(seed, 0, contacts, 1_000_000, id_order(self.schema["contact"].key_prefix)),
            "lead": ModIndex(seed, contacts, leads, 1_000_000, id_order(self.schema["lead"].key_prefix)),
        }
        self.user_id = self.create(
            "User", {"Username": "integration@sandbox.example", "Name": "Integration User"}
        )

    # -- lookup ------------------------------------------------------------------------------------
    def spec(self, name: str) -> ObjectSpec | None:
        """The object of that name in any casing."""
        return self.schema.get(name.lower())

    def locate(self, record_id: str) -> tuple[ObjectSpec, int] | None:
        """The object and index an id points to, or None for a malformed or foreign id."""
        parsed = parse_id(record_id)
        if parsed is None:
            return None
        prefix, index = parsed
        for spec in self.schema.values():
            if spec.key_prefix == prefix:
                return spec, index
        return None

    def seeded_count(self, obj: str) -> int:
        """How many seeded indexes the object has (some may render as absent)."""
        return self._seeded.get(obj.lower(), 0)

    def always_exists(self, obj: str) -> bool:
        """Whether every seeded index of the object is a record (so a scan needs no rendering)."""
        return obj.lower() in ("contact", "lead")

    def _render(self, obj: str, index: int) -> Record | None:
        if index >= CREATED_BASE:
            stored = self.created[obj].get(index)
            return dict(stored) if stored is not None else None
        if index >= self.seeded_count(obj):
            return None
        if obj == "contact":
            return seeding.contact(self.seed, index)
        if obj == "lead":
            return seeding.lead(self.seed, self.contacts, index)
        if obj == "account":
            return seeding.account(self.seed, index)
        if obj == "opportunity":
            return seeding.opportunity(self.seed, index)
        if obj == "individual":
            return seeding.individual(self.seed, index)
        if obj == "contactpointtypeconsent":
            return consent_seed.consent(self.seed, index)
        if obj == "datausepurpose":
            return consent_seed.data_use_purpose(index)
        raise KeyError(obj)

    def get(self, obj: str, index: int, *, include_deleted: bool = False) -> Record | None:
        """The current record (all fields, Python values), or None when absent or deleted."""
        obj = obj.lower()
        if index in self.purged[obj]:
            return None
        deleted_at = self.deleted[obj].get(index)
        if deleted_at is not None and not include_deleted:
            return None
        record = self._render(obj, index)
        if record is None:
            return None
        changes = self.overlay[obj].get(index)
        if changes:
            record.update(changes)
        if deleted_at is not None:
            record["IsDeleted"] = True
        if obj == "contact":
            record["MailingAddress"] = mailing_address(record)
        return record

    def get_by_id(self, record_id: str, *, include_deleted: bool = False) -> Record | None:
        """The record with this id (15 or 18 characters), or None."""
        located = self.locate(record_id)
        if located is None:
            return None
        return self.get(located[0].name, located[1], include_deleted=include_deleted)

    def indexes(self, obj: str) -> Iterator[int]:
        """Every index that may hold a record of the object, in Id order."""
        obj = obj.lower()
        yield from range(self.seeded_count(obj))
        yield from sorted(self.created[obj])

    def referencing(self, obj: str, field_name: str, parent_ids: set[Any]) -> list[int] | None:
        """Indexes of `obj` whose `field_name` may hold one of `parent_ids`, in Id order; None when unindexed.

        Seeded Opportunity `i` belongs to Account `i` and Contact `i`, Contact `i` and Lead `k - contacts` to
        Individual `k`, and the consents of Individual `k` are the `CONSENT_SLOTS` indexes from
        `k * CONSENT_SLOTS`, so their seeded candidates follow from the parents' indexes; records created or changed through the API are always candidates. A superset:
        the caller still checks the whole WHERE. This keeps a per-page won-deal aggregate O(page), as
        Salesforce's index on lookup fields does, instead of a scan of every Opportunity.
        """
        obj = obj.lower()
        children = self._seeded_children(obj, field_name.lower())
        if children is None:
            return None
        seeded = self.seeded_count(obj)
        candidates = {index for index in self.overlay[obj] if index < seeded} | set(self.created[obj])
        for parent in parent_ids:
            located = self.locate(parent) if isinstance(parent, str) else None
            if located is not None:
                candidates.update(index for index in children(located[1]) if 0 <= index < seeded)
        return sorted(candidates)

    def _seeded_children(self, obj: str, field_name: str) -> Callable[[int], range] | None:
        """The seeded indexes of `obj` whose lookup `field_name` may name parent index i; None: not indexed."""
        slots = consent_seed.CONSENT_SLOTS
        indexed: dict[tuple[str, str], Callable[[int], range]] = {
            ("opportunity", "accountid"): lambda i: range(i, i + 1),
            ("opportunity", "contactid"): lambda i: range(i, i + 1),
            ("contactpointtypeconsent", "partyid"): lambda i: range(i * slots, i * slots + slots),
            ("contact", "individualid"): lambda i: range(i, i + 1),
            ("lead", "individualid"): lambda i: range(i - self.contacts, i - self.contacts + 1),
        }
        return indexed.get((obj, field_name))

    def surely_live(self, obj: str, index: int) -> bool:
        """Whether the record is there and not deleted without rendering it: a seeded index of an object whose
        every seeded index is a record (`always_exists`), neither deleted nor purged. False means: render to
        know."""
        obj = obj.lower()
        return (
            self.always_exists(obj)
            and index < self.seeded_count(obj)
            and index not in self.deleted[obj]
            and index not in self.purged[obj]
        )

    def is_deleted(self, obj: str, index: int) -> bool:
        """Whether the record was deleted (in the recycle bin or purged from it)."""
        obj = obj.lower()
        return index in self.deleted[obj] or index in self.purged[obj]

    def listed(self, obj: str, index: int, *, include_deleted: bool) -> bool:
        """Whether a query (`queryAll` with include_deleted) still finds the record's index."""
        obj = obj.lower()
        if index in self.purged[obj]:
            return False
        return include_deleted or index not in self.deleted[obj]

    def unlisted(self, obj: str, *, include_deleted: bool) -> set[int]:
        """The indexes a query leaves out: purged ones, and the recycle bin unless include_deleted."""
        obj = obj.lower()
        return set(self.purged[obj]) if include_deleted else set(self.purged[obj]) | set(self.deleted[obj])

    def empty_recycle_bin(self) -> int:
        """Purge records deleted more than RECYCLE_BIN_DAYS ago; returns how many."""
        horizon = self.clock() - timedelta(days=RECYCLE_BIN_DAYS)
        count = 0
        with self.lock:
            for obj, deleted in self.deleted.items():
                for index, at in [(i, at) for i, at in deleted.items() if at <= horizon]:
                    del deleted[index]
                    self.purged[obj].add(index)
                    self.overlay[obj].pop(index, None)
                    self.created[obj].pop(index, None)
                    self.purged_through = max(at, self.purged_through or at)
                    count += 1
        return count

    # -- writes ------------------------------------------------------------------------------------
    def _touch(self, obj: str, index: int, values: Record, by: str | None) -> Record:
        now = self.clock()
        editor = by or getattr(self, "user_id", None)
        changes = dict(values, LastModifiedDate=now, SystemModstamp=now, LastModifiedById=editor)
        self.overlay[obj].setdefault(index, {}).update(changes)
        if obj in self.modstamps:
            self.modstamps[obj].move(index, micros(now))
        return changes

    def update(self, obj: str, index: int, values: Record, *, by: str | None = None) -> None:
        """Write field values (canonical names, validated by the caller) and move SystemModstamp.

        ``by`` is the editing user's id; API writes default to the integration user."""
        obj = obj.lower()
        with self.lock:
            self._touch(obj, index, values, by)
            self.write_log.append(
                (self.schema[obj].name, make_id(self.schema[obj].key_prefix, index), tuple(values))
            )
            if obj in ("fieldpermissions", "permissionsetassignment"):
                self._refresh_fls()
        if self.listeners and (record := self.get(obj, index)) is not None:
            for listener in self.listeners:
                listener(self.schema[obj].name, record, "updated")

    def create(self, obj: str, values: Record, *, by: str | None = None) -> str:
        """Insert a record (canonical field names) and return its id; ``by`` is the creating user (API creates
        default to the integration user)."""
        obj = obj.lower()
        spec = self.schema[obj]
        with self.lock:
            index = self._next[obj]
            self._next[obj] += 1
            now = self.clock()
            record: Record = {field.name: field.default for field in spec.fields.values()}
            record.update(values)
            record.update(
                Id=make_id(spec.key_prefix, index), IsDeleted=False, CreatedDate=now, LastModifiedDate=now,
                SystemModstamp=now, LastModifiedById=by or getattr(self, "user_id", None),
            )  # fmt: skip
            self.created[obj][index] = record
            if obj in self.modstamps:
                self.modstamps[obj].move(index, micros(now))
            self.write_log.append((spec.name, record["Id"], tuple(values)))
            if obj in ("fieldpermissions", "permissionsetassignment"):
                self._refresh_fls()
        for listener in self.listeners:
            listener(spec.name, dict(record), "created")
        return str(record["Id"])

    def delete(self, obj: str, index: int) -> None:
        """Move a record to the recycle bin: queryAll still returns it with IsDeleted = true."""
        obj = obj.lower()
        with self.lock:
            self._touch(obj, index, {}, None)
            self.deleted[obj][index] = self.clock()
            if obj in ("fieldpermissions", "permissionsetassignment"):
                self._refresh_fls()

    def delete_where(self, obj: str, field_name: str, value: Any) -> int:
        """Delete every live record of `obj` whose field equals `value` (a cascade); returns how many."""
        with self.lock:
            doomed = [
                index
                for index in self.indexes(obj)
                if (record := self.get(obj, index)) is not None and record.get(field_name) == value
            ]
            for index in doomed:
                self.delete(obj, index)
        return len(doomed)

    def drop_field(self, obj: str, field_name: str) -> None:
        """Forget a deleted custom field: its written values, its grants and its FieldPermissions records."""
        key, name = obj.lower(), field_name.lower()
        with self.lock:
            for values in (*self.overlay[key].values(), *self.created[key].values()):
                for stored in [stored for stored in values if stored.lower() == name]:
                    del values[stored]
            self._fls_static.discard(f"{key}.{name}")
            full_name = f"{self.schema[key].name}.{self.schema[key].fields[name].name}"
            self.delete_where("FieldPermissions", "Field", full_name)
            del self.schema[key].fields[name]

    # -- field-level security ----------------------------------------------------------------------
    def _refresh_fls(self) -> None:
        assigned = {
            str(record["PermissionSetId"])
            for index in self.indexes("permissionsetassignment")
            if (record := self.get("permissionsetassignment", index)) and record["AssigneeId"] == self.user_id
        }
        read: set[str] = set()
        edit: set[str] = set()
        for index in self.indexes("fieldpermissions"):
            grant = self.get("fieldpermissions", index)
            if grant is None or grant["ParentId"] not in assigned:
                continue
            name = str(grant["Field"]).lower()
            if grant["PermissionsRead"] or grant["PermissionsEdit"]:
                read.add(name)
            if grant["PermissionsEdit"]:
                edit.add(name)
        self._fls_read, self._fls_edit = read, edit

    def restrict(self, obj: str, field_name: str) -> None:
        """Take a standard field away from the integration user (no read, no edit), as a restricted
        profile does; describe, queries and writes then treat it as unknown."""
        self._restricted.add(f"{obj}.{field_name}".lower())

    def unrestrict(self, obj: str, field_name: str) -> None:
        """Give a restricted standard field back."""
        self._restricted.discard(f"{obj}.{field_name}".lower())

    def visible(self, obj: ObjectSpec, field: FieldSpec, *, edit: bool = False) -> bool:
        """Whether the integration user may read (or, with edit, write) the field."""
        if self._restricted and f"{obj.name}.{field.name}".lower() in self._restricted:
            return False
        if not field.fls_managed:
            return True
        key = f"{obj.name}.{field.name}".lower()
        return key in self._fls_static or key in (self._fls_edit if edit else self._fls_read)

    def grant_all(self, obj: str, field_name: str) -> None:
        """Make a run-time field readable and writable without permission-set records (pre-installed)."""
        self._fls_static.add(f"{obj}.{field_name}".lower())
