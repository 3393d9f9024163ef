"""The whole sync on the Salesforce sandbox under 5xx storms, random 500 answers, dropped connections and locked
rows (UNABLE_TO_LOCK_ROW, random and held): every record ends with the flags the policy decides, no record is
written twice (one `written` audit entry per record that needed a write), and a later run writes nothing (nor
reads anything, after a run that completed without failures).

Real simple-salesforce over real HTTP, a real SQLite store, retries without waiting. The adapter reads the next
page in a background thread while the sync writes this one, so request-level faults land on reads and writes in
an order that varies from run to run: storms and forced drops are counted out (they always fire, on whatever
calls come next), and random rates stay low enough that no call runs out of retries by chance. Record-level
faults are rolled by writes only, which go out one at a time, so the seeded locks repeat exactly.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import select

from connector.crm.port import CrmRecord
from connector.crm.retry import RetryPolicy
from connector.crm.salesforce import SalesforceCrm
from connector.crm.salesforce.write import COLLECTION_SIZE
from connector.mapping.facts import CompiledMapping
from connector.mapping.load import load_mapping
from connector.policy import PolicySettings
from connector.settings import SalesforceConfig
from connector.store import Store, open_store
from connector.store.tables import decisions
from connector.sync.pipeline import Pipeline
from connector.sync.run import Outcome, Progress, SyncOptions, SyncResult, run_sync
from crm_sandbox.salesforce.faults import SalesforceFaults
from crm_sandbox.salesforce.server import SalesforceSandbox, running_salesforce
from tests.conftest import NOW
from tests.e2e.test_sync_salesforce import FLAGS, flags_of

MAPPING = load_mapping("salesforce")
COMPILED = CompiledMapping(MAPPING)
POLICY = PolicySettings()
CONTACTS = 800
PAGE_SIZE = 300
ATTEMPTS = RetryPolicy().attempts
"""Tries of one call before the adapter gives up."""
LOCK_ATTEMPTS = RetryPolicy().lock_attempts
"""Sends of one collection's locked records before the adapter reports them failed."""
NO_FAULTS: dict[str, Any] = {
    "error_rate": 0.0, "storm_remaining": 0, "drop_rate": 0.0, "record_error_rate": 0.0, "locked_ids": {},
}  # fmt: skip


pytestmark = pytest.mark.usefixtures("no_retry_waits")


class CountingFaults(SalesforceFaults):
    """The sandbox's faults, counting the writes refused per record (held locks and random record errors), and
    able to drop the next few connections for certain (`force_drops`), whichever thread sends them."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.refused: Counter[str] = Counter()
        self.drops_due = 0

    def force_drops(self, count: int) -> None:
        with self._lock:
            self.drops_due = count

    def drop(self) -> bool:
        with self._lock:
            if self.drops_due > 0:
                self.drops_due -= 1
                return True
        return super().drop()

    def record_error(self, record_id: str | None = None) -> str | None:
        code = super().record_error(record_id)
        if code is not None and record_id is not None:
            self.refused[record_id] += 1
        return code


@pytest.fixture
def sandbox() -> Iterator[SalesforceSandbox]:
    with running_salesforce(contacts=CONTACTS, seed=11, faults=CountingFaults(seed=11)) as running:
        adapter(running).install(dry_run=False, uninstall=False)
        yield running


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return open_store(f"sqlite:///{tmp_path / 'store.db'}")


def adapter(sandbox: SalesforceSandbox) -> SalesforceCrm:
    config = SalesforceConfig(
        auth="session",
        instance_url=sandbox.base_url,
        session_id=SecretStr(sandbox.token),
        page_size=PAGE_SIZE,
    )
    return SalesforceCrm.from_config(config, MAPPING, bulk_poll_s=0)


def sync(
    sandbox: SalesforceSandbox, store: Store, *, progress: Progress | None = None, **options: Any
) -> SyncResult:
    return run_sync(
        adapter(sandbox), COMPILED, POLICY, store, SyncOptions(**options), today=NOW, progress=progress
    )


def all_records(sandbox: SalesforceSandbox) -> list[CrmRecord]:
    crm = adapter(sandbox)
    return [
        r for t in crm.object_types for page in crm.pull(t, since=None) for r in page.records if not r.deleted
    ]


def counting(sandbox: SalesforceSandbox) -> CountingFaults:
    faults = sandbox.state.faults
    assert isinstance(faults, CountingFaults)
    return faults


def faults_off(sandbox: SalesforceSandbox) -> None:
    counting(sandbox).force_drops(0)
    sandbox.state.faults.configure(**NO_FAULTS)


def refused(sandbox: SalesforceSandbox) -> Counter[int]:
    """How many calls the sandbox answered with each HTTP status >= 500."""
    return Counter(entry["status"] for entry in sandbox.state.request_log if entry["status"] >= 500)


def assert_every_record_holds_its_decision(sandbox: SalesforceSandbox, store: Store, count: int) -> None:
    """Read back with faults off: each record's flags are the policy's decision and nothing is left to write."""
    crm = adapter(sandbox)
    decided = Pipeline(crm, COMPILED, POLICY, store).decide(
        all_records(sandbox), today=NOW, now=datetime.now(UTC)
    )
    assert len(decided) == count
    for item in decided:
        assert {f: item.record.fields[f] for f in FLAGS} == flags_of(item.decision), item.record.id
    assert [d.record.id for d in decided if d.plan.update is not None] == []


def written_entries(store: Store) -> Counter[str]:
    """Record id -> how many `written` audit entries it has."""
    query = select(decisions.c.record_id).where(
        decisions.c.crm == "salesforce", decisions.c.write_status == "written"
    )
    with store.engine.connect() as db:
        return Counter(row.record_id for row in db.execute(query))


def assert_written_once(store: Store, ids: set[str]) -> None:
    written = written_entries(store)
    assert set(written) == ids, "every record that needed a write has a `written` entry, and only those"
    assert max(written.values()) == 1, "no record was written twice"


class StormAfterWrites(deque[dict[str, Any]]):
    """The sandbox's request log, starting a 503 storm of `length` answers once `after` collection writes were
    answered 200. With two calls at a time at most (a write and a read ahead), a storm of twice the retry
    budget refuses the next collection of the page as often as it is sent."""

    def __init__(self, faults: SalesforceFaults, *, after: int, length: int) -> None:
        super().__init__(maxlen=10000)
        self.faults, self.after, self.length, self.writes = faults, after, length, 0

    def append(self, entry: dict[str, Any]) -> None:
        super().append(entry)
        if entry["endpoint"] == "compositeUpdate" and entry["status"] == 200:
            self.writes += 1
            if self.writes == self.after:
                self.faults.configure(storm_remaining=self.length, storm_status=503)


def held_locks(records: list[CrmRecord], *, every: int, times: list[int]) -> dict[str, int]:
    """Every `every`-th record held locked for the next `times[i]` writes (cycling through `times`)."""
    chosen = records[::every]
    return {record.id: times[i % len(times)] for i, record in enumerate(chosen)}


def test_under_5xx_storms_random_500s_and_drops_every_record_ends_correct_and_is_written_once(
    sandbox: SalesforceSandbox, store: Store
) -> None:
    everyone = {r.id for r in all_records(sandbox)}
    sandbox.state.reset_counters()
    faults = counting(sandbox)
    faults.configure(storm_remaining=ATTEMPTS - 1, storm_status=503)

    def progress(result: SyncResult) -> None:
        if result.pages == 1:
            faults.configure(error_rate=0.08, error_status=500, drop_rate=0.02)
            faults.force_drops(2)
        elif result.pages == 2:
            faults.configure(storm_remaining=2, storm_status=500)

    first = sync(sandbox, store, progress=progress)
    counters, statuses = dict(sandbox.state.counters), refused(sandbox)
    faults_off(sandbox)

    assert faults.storm_remaining == 0, "both storms were spent on the run's calls"
    assert statuses[503] >= ATTEMPTS - 1 and statuses[500] >= 2, statuses
    assert counters.get("dropped", 0) >= 2, counters
    assert first.outcome is Outcome.COMPLETED, first.message
    assert first.pages >= 4, "several pages of contacts and leads"
    assert first.tally.read == first.tally.written == len(everyone) and first.tally.failed == 0
    assert_every_record_holds_its_decision(sandbox, store, len(everyone))
    assert_written_once(store, everyone)

    again = sync(sandbox, store)
    assert (again.tally.read, again.tally.written) == (0, 0), (
        "our own write-back is not read back as a change"
    )
    assert max(written_entries(store).values()) == 1


def test_locked_rows_random_and_held_are_sent_again_within_the_run_and_written_once(
    sandbox: SalesforceSandbox, store: Store
) -> None:
    records = all_records(sandbox)
    everyone = {r.id for r in records}
    held = held_locks(records, every=20, times=[1, 2, 3])
    faults = counting(sandbox)
    faults.configure(record_error_rate=0.1, locked_ids=dict(held))
    first = sync(sandbox, store)
    faults_off(sandbox)

    assert not any(faults.locked_ids.values()), "every hold was spent"
    assert all(faults.refused[record_id] >= times for record_id, times in held.items())
    randomly = set(faults.refused) - set(held)
    assert len(randomly) >= 20, "random locks hit records that were not held too"
    assert first.outcome is Outcome.COMPLETED, first.message
    assert first.tally.read == first.tally.written == len(everyone) and first.tally.failed == 0
    assert first.tally.errors == {}
    for record_id in held:
        [entry] = store.audit.history("salesforce", record_id)
        assert entry.write_status == "written" and entry.error_code is None
    assert_every_record_holds_its_decision(sandbox, store, len(everyone))
    assert_written_once(store, everyone)

    again = sync(sandbox, store)
    assert (again.tally.read, again.tally.written) == (0, 0)


def test_a_storm_longer_than_the_retry_budget_stops_the_run_and_the_next_run_finishes_without_rewriting(
    sandbox: SalesforceSandbox, store: Store
) -> None:
    records = all_records(sandbox)
    everyone = {r.id for r in records}
    contacts = sum(r.object_type == "Contact" for r in records)
    faults = sandbox.state.faults
    done: list[int] = []

    def progress(result: SyncResult) -> None:
        done.append(result.tally.written)
        if (
            result.tally.written == contacts
        ):  # the Contacts' changes written: the Lead pull starts next, alone
            faults.configure(storm_remaining=ATTEMPTS, storm_status=503)

    stopped = sync(sandbox, store, progress=progress)
    assert stopped.outcome is Outcome.FAILED and "ServiceUnavailableError" in (stopped.message or "")
    assert done[-1] == contacts and faults.storm_remaining == 0, "contacts written, then the storm won"
    assert len(written_entries(store)) == contacts

    resumed = sync(sandbox, store)
    assert resumed.outcome is Outcome.COMPLETED, resumed.message
    assert resumed.tally.written == len(everyone) - contacts and resumed.tally.failed == 0
    assert_every_record_holds_its_decision(sandbox, store, len(everyone))
    assert_written_once(store, everyone)

    again = sync(sandbox, store)
    assert again.tally.updates == again.tally.written == 0, "nothing is left to write"
    assert_written_once(store, everyone)


def test_rows_locked_beyond_the_retry_budget_are_reported_failed_and_a_full_run_writes_them_once(
    sandbox: SalesforceSandbox, store: Store
) -> None:
    records = all_records(sandbox)
    everyone = {r.id for r in records}
    stuck = held_locks(records, every=50, times=[LOCK_ATTEMPTS])
    sandbox.state.faults.configure(locked_ids=dict(stuck))
    first = sync(sandbox, store)
    faults_off(sandbox)

    assert first.outcome is Outcome.COMPLETED, first.message
    assert first.tally.failed == len(stuck) and first.tally.errors == {"UNABLE_TO_LOCK_ROW": len(stuck)}
    assert first.tally.written == len(everyone) - len(stuck)
    for record_id in stuck:
        [entry] = store.audit.history("salesforce", record_id)
        assert (entry.write_status, entry.error_code) == ("failed", "UNABLE_TO_LOCK_ROW")

    full = sync(sandbox, store, full=True)
    assert full.tally.written == full.tally.updates == len(stuck) and full.tally.failed == 0
    assert_every_record_holds_its_decision(sandbox, store, len(everyone))
    assert_written_once(store, everyone)
    assert sync(sandbox, store).tally.written == 0


def test_rows_locked_beyond_the_retry_budget_are_written_by_the_next_incremental_runs(
    sandbox: SalesforceSandbox, store: Store
) -> None:
    records = all_records(sandbox)
    stuck = held_locks(records, every=50, times=[LOCK_ATTEMPTS])
    sandbox.state.faults.configure(locked_ids=dict(stuck))
    assert sync(sandbox, store).tally.failed == len(stuck), "the held rows failed"
    faults_off(sandbox)
    for _ in range(2):
        assert sync(sandbox, store).outcome is Outcome.COMPLETED, "a normal run completes"
    assert_every_record_holds_its_decision(sandbox, store, len(records))


def test_a_storm_that_cuts_a_write_short_leaves_a_written_entry_for_every_record_written(
    sandbox: SalesforceSandbox, store: Store
) -> None:
    """The Contacts' changes are held until their pull ends, then written 200 a call: a storm that begins after
    the third collection ends the run with those 600 written (and audited so), the rest pending or failed."""
    everyone = {r.id for r in all_records(sandbox)}
    storm = StormAfterWrites(sandbox.state.faults, after=3, length=2 * ATTEMPTS)
    sandbox.state.request_log = storm
    assert sync(sandbox, store).outcome is Outcome.FAILED
    faults_off(sandbox)
    assert storm.writes == 3, "the storm began after the third collection"
    assert len(written_entries(store)) == 3 * COLLECTION_SIZE, (
        "the first three collections were written, and audited as written"
    )
    for _ in range(2):
        assert sync(sandbox, store).outcome is Outcome.COMPLETED, "a normal run completes"
    assert_every_record_holds_its_decision(sandbox, store, len(everyone))
    assert_written_once(store, everyone)


def test_locked_rows_and_503s_at_once_spend_separate_budgets_and_the_run_writes_every_record_once(
    sandbox: SalesforceSandbox, store: Store
) -> None:
    """The sandbox's fault mix: a fifth of the rows of every write refused UNABLE_TO_LOCK_ROW and an eighth of
    all calls answered 503. Locked rows and failing calls each spend their own retry budget, so the run
    completes with every record written once and right (with one budget for both it failed before writing)."""
    everyone = {r.id for r in all_records(sandbox)}
    sandbox.state.reset_counters()
    faults = counting(sandbox)
    faults.configure(record_error_rate=0.2, error_rate=0.12, error_status=503)
    first = sync(sandbox, store)
    statuses = refused(sandbox)
    faults_off(sandbox)

    assert statuses[503] >= 1, "calls were refused with 503"
    assert len(faults.refused) >= 100, "locked rows in every collection"
    assert first.outcome is Outcome.COMPLETED, first.message
    assert first.tally.read == first.tally.written == len(everyone) and first.tally.failed == 0
    assert_every_record_holds_its_decision(sandbox, store, len(everyone))
    assert_written_once(store, everyone)
