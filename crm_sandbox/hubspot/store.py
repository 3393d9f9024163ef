"""The emulator's records: N seeded contacts rendered lazily from ``person(seed, i)``, plus written values.

Nothing is stored for an unwritten seeded contact, so a million contacts cost only the company table. Contact
ids are ``CONTACT_ID_BASE + index`` (numeric strings, ascending in creation order). Company ids are a stable
11-digit hash of the company name, so a contact's ``associatedcompanyid`` needs no table. What only a pass over
every seeded contact can tell is gathered by one scan in index order, in a background thread started with the
server (or on first need): the company table (name, ``type``, contact count), each seeded e-mail address's
first contact (subscription statuses belong to addresses) and the modification index's seeded times. The server
answers API calls once the scan is done (``wait_seeded``), so no call waits for it inside its own request.
Every accepted write moves ``lastmodifieddate`` strictly forward and reports changed values to ``listeners``.

What vanishes, as in HubSpot: a GDPR delete removes a contact for good (neither the live nor the archived list
knows its id); an archived contact is purged 90 days after it was archived, on the sandbox clock; a merged
contact's id resolves to the winner of the merge and is listed nowhere. Search sees a write only after a
delay between half of ``search_lag_s`` and all of it, drawn per write, so a later write can be searchable before
an earlier one (until then search finds the contact as it was, and a new contact not at all).
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import threading
from array import array
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from crm_sandbox.clock import SandboxClock
from crm_sandbox.hubspot.properties import PropertyRegistry, iso_ms
from crm_sandbox.hubspot.render import company_type, contact_properties
from crm_sandbox.hubspot.search import to_ms
from crm_sandbox.modindex import ModIndex
from crm_sandbox.people import Person, person

CONTACT_ID_BASE = 1001
RENDER_CACHE = 2048
"""Seeded contacts whose rendered values are kept: a few pages' worth."""
ARCHIVE_RETENTION = timedelta(days=90)
"""How long HubSpot keeps an archived contact restorable before it purges it."""
COMPANY_EPOCH = datetime(2019, 8, 6, tzinfo=UTC)

Props = dict[str, str | None]
ChangeListener = Callable[[str, str, dict[str, str | None], str, str], None]
"""(kind, object id, changed values, changeSource, sourceId) with kind ``creation`` or ``propertyChange``."""


def company_id_for(name: str) -> str:
    """The stable numeric id of the company called ``name``."""
    digest = int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "big")
    return str(10_000_000_000 + digest % 90_000_000_000)


@dataclass(slots=True)
class Company:
    """One seeded company; ``first_index`` is the lowest-index contact working there."""

    id: str
    name: str
    type: str
    country: str | None
    first_index: int
    contacts: int = 1


class ContactStore:
    """Seeded and created contacts, written values, archived flags and the lazily built company table."""

    def __init__(
        self,
        seed: int,
        contacts: int,
        registry: PropertyRegistry,
        *,
        clock: SandboxClock | None = None,
        search_lag_s: float = 0.0,
    ) -> None:
        self.seed = seed
        self.clock = clock or SandboxClock()
        self.search_lag = timedelta(seconds=search_lag_s)
        self._lag_rng = random.Random(seed)  # each write waits between half the lag and all of it
        self.seeded = contacts
        self.registry = registry
        self.lock = threading.RLock()
        self.overlay: dict[int, Props] = {}
        self.created: dict[int, Props] = {}
        self.archived: set[int] = set()
        self.archived_at: dict[int, str] = {}
        self._archived_when: dict[int, datetime] = {}
        self.gone: set[int] = set()
        """Purged, GDPR-deleted and merged-away contacts: kept in ``archived`` (so no live read sees them) and
        left out of archived reads too."""
        self.merged_into: dict[int, int] = {}
        self.pending: dict[int, tuple[datetime, Props | None]] = {}
        """Writes search has not indexed yet: index -> (when search sees it, the values search still has)."""
        self.search_epoch = 0
        self.version = 0
        self.listeners: list[ChangeListener] = []
        self._total = contacts
        self.modified = ModIndex(
            seed, 0, contacts, 1000
        )  # lastmodifieddate index, epoch ms as search compares
        self._last_stamp = self.clock.now()
        self._companies: dict[str, Company] | None = None
        self._seeded_emails: dict[str, int] | None = None
        self._company_overlay: dict[str, Props] = {}
        self._seed_scanned = threading.Event()
        self._seed_scan_started = False
        self._rendered: OrderedDict[int, tuple[Person, Props]] = OrderedDict()
        """The last seeded contacts rendered (a page is rendered by its search, status read and write)."""
        self._render_lock = threading.Lock()
        self._members: dict[str, list[str]] = {}
        self._members_version = -1

    # ids -------------------------------------------------------------------------------------------------
    @property
    def total(self) -> int:
        """Number of contact slots (seeded + created), archived ones included."""
        return self._total

    def contact_id(self, index: int) -> str:
        """The numeric id string of contact ``index``."""
        return str(CONTACT_ID_BASE + index)

    def index_of(self, contact_id: str) -> int | None:
        """The index of an existing contact id, or None."""
        if not contact_id.isdigit():
            return None
        index = int(contact_id) - CONTACT_ID_BASE
        return index if 0 <= index < self._total else None

    def exists(self, index: int, *, archived: bool = False) -> bool:
        """Whether ``index`` is a contact in the requested archived state (purged and merged ones are not)."""
        return 0 <= index < self._total and index not in self.gone and ((index in self.archived) == archived)

    def winner_of(self, index: int) -> int:
        """The contact a merged-away contact now lives on (itself when it was never merged)."""
        while index in self.merged_into:
            index = self.merged_into[index]
        return index

    # reading ---------------------------------------------------------------------------------------------
    def person(self, index: int) -> Person:
        """The generated person behind seeded contact ``index``."""
        return self._rendering(index)[0]

    def seeded_properties(self, index: int) -> Props:
        """The generator's values for a seeded contact, ignoring writes."""
        return dict(self._rendering(index)[1])

    def _rendering(self, index: int) -> tuple[Person, Props]:
        """The person and seeded values of contact ``index``, shared with the cache of recent renders: never
        mutated."""
        rendered = self._rendered
        found = rendered.get(index)
        if found is None:
            p = person(self.seed, index)
            cid = company_id_for(p.company) if p.company else None
            found = (p, contact_properties(p, self.contact_id(index), cid))
            with self._render_lock:
                rendered[index] = found
                if len(rendered) > RENDER_CACHE:
                    rendered.popitem(last=False)
        return found

    def properties(self, index: int) -> Props:
        """Current values of contact ``index``: seeded or created values with written values on top."""
        base = self.created[index] if index >= self.seeded else self._rendering(index)[1]
        written = self.overlay.get(index)
        return {**base, **written} if written else dict(base)

    def company_of(self, index: int) -> str | None:
        """The primary associated company id of contact ``index``."""
        return self.properties(index).get("associatedcompanyid")

    def find_by(self, prop: str, value: str) -> int | None:
        """The first live contact whose ``prop`` equals ``value`` (case-insensitive); a linear scan."""
        needle = value.lower()
        for index in range(self._total):
            if index not in self.archived and (self.properties(index).get(prop) or "").lower() == needle:
                return index
        return None

    def iter_indices(self, start: int = 0, *, archived: bool = False) -> Iterator[int]:
        """Contact indices from ``start`` upwards in the requested archived state."""
        for index in range(max(start, 0), self._total):
            if (index in self.archived) == archived and index not in self.gone:
                yield index

    # writing ---------------------------------------------------------------------------------------------
    def _stamp(self) -> str:
        """A modification time strictly after the previous one (HubSpot has millisecond resolution)."""
        now = self.clock.now()
        if now <= self._last_stamp:
            now = self._last_stamp + timedelta(milliseconds=1)
        self._last_stamp = now
        return iso_ms(now)

    def update(self, index: int, values: Props, source: str = "INTEGRATION", source_id: str = "") -> Props:
        """Apply validated values to contact ``index``; returns the values that changed."""
        with self.lock:
            current = self.properties(index)
            changed = {k: v for k, v in values.items() if current.get(k) != v}
            self._unindexed(index, current)
            stamp = self._stamp()
            target = self.created[index] if index >= self.seeded else self.overlay.setdefault(index, {})
            target.update(values)
            target["lastmodifieddate"] = stamp
            target["hs_lastmodifieddate"] = stamp
            self.modified.move(index, to_ms(stamp))
            self.version += 1
        if changed:
            self.notify("propertyChange", self.contact_id(index), changed, source, source_id)
        return changed

    def create(self, values: Props, source: str = "INTEGRATION", source_id: str = "") -> int:
        """Create a contact from validated values; returns its index."""
        with self.lock:
            index = self._total
            stamp = self._stamp()
            props: Props = dict.fromkeys(self.registry.defs["contacts"])
            props.update(values)
            props.update(
                {
                    "hs_object_id": self.contact_id(index),
                    "createdate": stamp,
                    "lastmodifieddate": stamp,
                    "hs_lastmodifieddate": stamp,
                    "hs_email_optout": "false",
                }
            )
            self.created[index] = props
            self._unindexed(index, None)
            self.modified.move(index, to_ms(stamp))
            self._total += 1
            self.version += 1
        self.notify("creation", self.contact_id(index), {}, source, source_id)
        return index

    def archive(self, index: int) -> None:
        """Archive (soft-delete) a contact; ``archived_at`` keeps when (``archivedAt`` of archived reads)."""
        with self.lock:
            self.archived.add(index)
            stamp = self._stamp()
            self.archived_at[index] = stamp
            self._archived_when[index] = self._last_stamp
            self.version += 1

    def purge(self, index: int) -> None:
        """Remove a contact for good (GDPR delete, or the end of its archive retention): its id is unknown
        from now on and its written values are dropped."""
        with self.lock:
            self.archived.add(index)
            self.gone.add(index)
            self.overlay.pop(index, None)
            if index in self.created:
                self.created[index] = {"hs_object_id": self.contact_id(index)}
            self.archived_at.pop(index, None)
            self._archived_when.pop(index, None)
            self.pending.pop(index, None)
            self.version += 1

    def purge_expired(self) -> list[str]:
        """Purge the contacts archived longer than the retention ago; returns their ids."""
        limit = self.clock.now() - ARCHIVE_RETENTION
        expired = [index for index, when in list(self._archived_when.items()) if when <= limit]
        for index in expired:
            self.purge(index)
        return [self.contact_id(index) for index in expired]

    def merge(self, winner: int, loser: int) -> Props:
        """Merge ``loser`` into ``winner``: the winner keeps its values, takes the loser's where it has none,
        and lists the loser in ``hs_merged_object_ids``; the loser's id resolves to the winner from now on."""
        with self.lock:
            mine, theirs = self.properties(winner), self.properties(loser)
            merged_ids = [i for i in (mine.get("hs_merged_object_ids") or "").split(";") if i]
            merged_ids.append(self.contact_id(loser))
            merged_ids.extend(i for i in (theirs.get("hs_merged_object_ids") or "").split(";") if i)
            skip = {"hs_object_id", "createdate", "lastmodifieddate", "hs_lastmodifieddate"}
            values: Props = {
                k: v for k, v in theirs.items() if k not in skip and v not in (None, "") and not mine.get(k)
            }
            values["hs_merged_object_ids"] = ";".join(merged_ids)
            self.merged_into[loser] = winner
            self.archived.add(loser)
            self.gone.add(loser)
            self.pending.pop(loser, None)
        self.update(winner, values, "CRM_UI", "merge")
        return values

    # search index ----------------------------------------------------------------------------------------
    def _unindexed(self, index: int, before: Props | None) -> None:
        """Note a write search will see only after the lag (keeping what search still has)."""
        if not self.search_lag:
            return
        visible_at = self.clock.now() + self.search_lag * (0.5 + 0.5 * self._lag_rng.random())
        _, indexed = self.pending.get(index, (visible_at, None if before is None else dict(before)))
        self.pending[index] = (visible_at, indexed)

    def catch_up_search(self) -> None:
        """Let search see every write older than the lag."""
        if not self.pending:
            return
        now = self.clock.now()
        with self.lock:
            done = [index for index, (at, _) in self.pending.items() if at <= now]
            for index in done:
                del self.pending[index]
            if done:
                self.search_epoch += 1

    def searchable(self, index: int) -> Props | None:
        """The values search holds for contact ``index``: stale while a write is unindexed, None for a
        contact created too recently to be found."""
        waiting = self.pending.get(index)
        return self.properties(index) if waiting is None else waiting[1]

    def notify(self, kind: str, object_id: str, changed: Props, source: str, source_id: str) -> None:
        """Tell every listener about a change (webhooks subscribe here)."""
        for listener in list(self.listeners):
            listener(kind, object_id, changed, source, source_id)

    # companies -------------------------------------------------------------------------------------------
    def start_seed_scan(self) -> None:
        """Scan the seed in a background thread (idempotent): companies, addresses, modification times."""
        with self.lock:
            if self._seed_scan_started:
                return
            self._seed_scan_started = True
        threading.Thread(target=self._scan_seed, name="hubspot-sandbox-seed", daemon=True).start()

    def _scan_seed(self) -> None:
        table: dict[str, Company] = {}
        emails: dict[str, int] = {}
        seconds = array("q")
        for index in range(self.seeded):
            p = person(self.seed, index)
            seconds.append(int(p.modified.timestamp()))
            if p.email:
                emails.setdefault(p.email.strip().lower(), index)
            if not p.company:
                continue
            cid = company_id_for(p.company)
            found = table.get(cid)
            if found is None:
                table[cid] = Company(cid, p.company, company_type(p), p.country, index)
            else:
                found.contacts += 1
        self.modified.build(seconds)
        self._companies, self._seeded_emails = table, emails
        self._seed_scanned.set()

    def seed_scanned(self) -> bool:
        """Whether the scan of the seed is done."""
        return self._seed_scanned.is_set()

    def wait_seed_scan(self) -> None:
        """Wait (starting it if need be) for the scan of the seed."""
        self.start_seed_scan()
        self._seed_scanned.wait()

    async def wait_seeded(self) -> None:
        """``wait_seed_scan`` for a request handler: the event loop serves other requests meanwhile."""
        if not self._seed_scanned.is_set():
            await asyncio.to_thread(self.wait_seed_scan)

    def companies(self) -> dict[str, Company]:
        """The company table, waiting for the scan when it is still running."""
        self.wait_seed_scan()
        assert self._companies is not None
        return self._companies

    def seeded_emails(self) -> dict[str, int]:
        """Folded e-mail address -> the lowest seeded contact index generated with it (from the scan)."""
        self.wait_seed_scan()
        assert self._seeded_emails is not None
        return self._seeded_emails

    def company_properties(self, company_id: str) -> Props | None:
        """Current property values of a company, or None when it does not exist."""
        company = self.companies().get(company_id)
        if company is None:
            return None
        created = iso_ms(COMPANY_EPOCH + timedelta(minutes=company.first_index))
        props: Props = {
            "hs_object_id": company.id,
            "name": company.name,
            "domain": None,
            "country": company.country,
            "type": company.type,
            "createdate": created,
            "hs_lastmodifieddate": created,
        }
        props.update(self._company_overlay.get(company_id, {}))
        return props

    def contacts_of(self, company_id: str) -> list[str]:
        """The ids of the live contacts whose primary company is ``company_id``, ascending (a scan, cached
        until the next write)."""
        with self.lock:
            if self._members_version != self.version:
                members: dict[str, list[str]] = {}
                for index in self.iter_indices():
                    company = self.company_of(index)
                    if company:
                        members.setdefault(company, []).append(self.contact_id(index))
                self._members, self._members_version = members, self.version
            return list(self._members.get(company_id, ()))

    def company_ids(self) -> list[str]:
        """All company ids in ascending numeric order (for list paging)."""
        return sorted(self.companies(), key=int)

    def snapshot(self, index: int) -> dict[str, Any]:
        """The stored record of a contact for tests and admins (no API, no limits)."""
        return {
            "id": self.contact_id(index),
            "archived": index in self.archived,
            "merged_into": self.contact_id(self.merged_into[index]) if index in self.merged_into else None,
            "purged": index in self.gone and index not in self.merged_into,
            "properties": self.properties(index),
            "written": dict(self.overlay.get(index, {}))
            if index < self.seeded
            else dict(self.created[index]),
        }
