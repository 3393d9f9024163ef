"""Killed after any CRM call, the audit still holds every write: on both sandboxes, a small `lawful-crm sync`
(a few dozen records, writes in batches of ten) is killed with SIGKILL right after the CRM carried out its call N,
for every N of the run; a second run then completes. Every record whose flags lawful-crm wrote has a `written`
audit entry holding the values it now has, no entry is left pending, and the flags equal those of a run that
was never interrupted.

The sandbox runs in this process; its request log holds the event loop still right after it carried out call N
(before the answer leaves), and the sync is killed while waiting for that answer: the harshest moment, as the
CRM has written what the process will never learn of.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sqlite3
import threading
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from connector.crm.hubspot import HubSpotCrm
from connector.crm.port import CrmPort
from connector.crm.salesforce import SalesforceCrm
from connector.mapping.load import load_mapping
from connector.mapping.own_fields import field_names
from connector.settings import HubSpotConfig, SalesforceConfig
from connector.store.packing import unpack
from crm_sandbox.hubspot import running_hubspot
from crm_sandbox.salesforce.server import running_salesforce
from tests.e2e import killable

CONTACTS = 40
HOLD_S = 120
"""At most this long the sandbox holds still for the kill (the test kills at once; this bounds a failed test)."""


class HeldLog(deque[Any]):
    """A sandbox's request log that, armed with N, holds the sandbox still once its N-th call since arming is
    carried out and logged (its answer not yet sent), until released."""

    def __init__(self) -> None:
        super().__init__(maxlen=10_000)
        self.hold_at: int | None = None
        self.seen = 0
        self.reached = threading.Event()
        self.released = threading.Event()

    def arm(self, call: int | None) -> None:
        self.hold_at, self.seen = call, 0
        self.reached.clear()
        self.released.clear()

    def release(self) -> None:
        self.hold_at = None
        self.released.set()

    def append(self, entry: Any) -> None:
        super().append(entry)
        if self.hold_at is None:
            return
        self.seen += 1
        if self.seen == self.hold_at:
            self.reached.set()
            self.released.wait(HOLD_S)


@dataclass
class Org:
    """One fresh sandbox org: its CRM name, the configuration table for it, its held log, an adapter."""

    crm: str
    config: str
    log: HeldLog
    adapter: Callable[[], CrmPort]
    completed: tuple[int, ...] = (0,)
    """The exit statuses of a run that completes (1 too, where some writes fail by the org's rules)."""


@contextmanager
def salesforce_org(*, rules: Sequence[dict[str, str]] = ()) -> Iterator[Org]:
    """A Salesforce org, with the validation `rules` given (`SalesforceState.rules.add` arguments)."""
    mapping = load_mapping("salesforce")
    with running_salesforce(contacts=CONTACTS, seed=7, connector_fields=True) as sandbox:
        for rule in rules:
            sandbox.state.rules.add("validation", **rule)
        log = HeldLog()
        sandbox.state.request_log = log
        config = SalesforceConfig(
            auth="session", instance_url=sandbox.base_url, session_id=SecretStr(sandbox.token)
        )
        yield Org(
            "salesforce",
            f'[salesforce]\nauth = "session"\ninstance_url = "{sandbox.base_url}"\n'
            f'session_id = "{sandbox.token}"\npage_size = 200\n',
            log,
            lambda: SalesforceCrm.from_config(config, mapping),
        )


@contextmanager
def hubspot_org() -> Iterator[Org]:
    mapping = load_mapping("hubspot")
    with running_hubspot(contacts=CONTACTS, seed=7, per_ten_seconds=None, search_per_second=None) as sandbox:
        config = HubSpotConfig(
            base_url=sandbox.base_url,
            access_token=SecretStr(sandbox.token),
            per_ten_seconds=1000,
            search_per_second=1000,
        )
        HubSpotCrm.from_config(config, mapping).install(dry_run=False, uninstall=False)
        log = HeldLog()
        sandbox.state.requests = log
        yield Org(
            "hubspot",
            f'[hubspot]\nbase_url = "{sandbox.base_url}"\naccess_token = "{sandbox.token}"\n'
            "per_ten_seconds = 1000\nsearch_per_second = 1000\n",
            log,
            lambda: HubSpotCrm.from_config(config, mapping),
        )


ORGS: dict[str, Callable[[], AbstractContextManager[Org]]] = {
    "salesforce": salesforce_org,
    "hubspot": hubspot_org,
}


@pytest.fixture(scope="module")
def processes() -> Any:
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([*killable.PRELOAD, "tests.e2e.killable"])
    return context


def start_sync(processes: Any, org: Org, workdir: Path) -> Any:
    child = processes.Process(target=killable.sync, args=(str(workdir), org.crm))
    child.start()
    return child


def kill_after_call(processes: Any, org: Org, workdir: Path, call: int) -> bool:
    """Run a sync killed right after the CRM carried out its call ``call``; False when the run ended first."""
    org.log.arm(call)
    child = start_sync(processes, org, workdir)
    while not org.log.reached.wait(0.02) and child.exitcode is None:
        pass
    killed = org.log.reached.is_set()
    if killed:
        os.kill(child.pid, signal.SIGKILL)
    child.join(30)
    org.log.release()
    assert child.exitcode in ((-signal.SIGKILL,) if killed else org.completed)
    return killed


def complete_run(processes: Any, org: Org, workdir: Path) -> None:
    org.log.arm(None)
    child = start_sync(processes, org, workdir)
    child.join(300)
    assert child.exitcode in org.completed, "the run after the kill completes"


def moment(value: Any) -> datetime:
    """``checked`` as either CRM spells it (ISO 8601 or epoch milliseconds), to the second."""
    text = str(value)
    at = datetime.fromtimestamp(int(text) / 1000, UTC) if text.isdigit() else datetime.fromisoformat(text)
    return at.astimezone(UTC).replace(microsecond=0)


def same(current: Any, written: Any) -> bool:
    spell = {None: "", True: "true", False: "false"}
    return str(spell.get(current, current)).lower() == str(spell.get(written, written)).lower()


@dataclass(frozen=True)
class Outcome:
    flags: dict[str, dict[str, Any]]
    """Record id -> its own fields but ``checked``, as read from the CRM."""
    checked: dict[str, Any]
    """Record id -> its ``checked`` value (empty when lawful-crm never wrote it)."""
    current: dict[str, dict[str, Any]]
    """Record id -> all its fields as read."""


def read_back(org: Org) -> Outcome:
    crm = org.adapter()
    writeback = load_mapping(org.crm).writeback
    names = field_names(writeback)
    records = [r for t in crm.object_types for page in crm.pull(t, since=None) for r in page.records]
    live = [r for r in records if not r.deleted]
    return Outcome(
        flags={r.id: {n: r.fields.get(n) for role, n in names.items() if role != "checked"} for r in live},
        checked={r.id: r.fields.get(writeback.checked) for r in live},
        current={r.id: dict(r.fields) for r in live},
    )


def audit(workdir: Path, crm: str) -> tuple[dict[str, dict[str, Any]], int]:
    """(record id -> the values of its latest `written` entry, how many entries are pending)."""
    with sqlite3.connect(workdir / "lawful-crm.db") as db:
        rows = db.execute(
            "SELECT record_id, written FROM decisions WHERE crm = ? AND write_status = 'written' ORDER BY id",
            (crm,),
        ).fetchall()
        pending = db.execute("SELECT count(*) FROM decisions WHERE write_status = 'pending'").fetchone()[0]
    return {record_id: unpack(written) for record_id, written in rows}, int(pending)


def assert_every_write_audited(org: Org, workdir: Path, outcome: Outcome, call: int) -> None:
    latest, pending = audit(workdir, org.crm)
    checked = load_mapping(org.crm).writeback.checked
    assert pending == 0, f"killed after call {call}: pending entries left"
    for record_id, stamp in outcome.checked.items():
        if stamp in (None, ""):
            continue
        assert record_id in latest, f"killed after call {call}: {record_id} written with no `written` entry"
        values = latest[record_id]
        assert moment(values[checked]) == moment(stamp), f"call {call}: {record_id}'s last write not audited"
        current = outcome.current[record_id]
        mismatched = [n for n, v in values.items() if n != checked and not same(current.get(n), v)]
        assert mismatched == [], f"call {call}: {record_id} holds values its audit entry did not write"


@pytest.mark.parametrize("crm", ["salesforce", "hubspot"])
def test_a_sync_killed_after_any_crm_call_leaves_every_write_audited_and_the_next_run_ends_right(
    processes: Any, crm: str, tmp_path: Path
) -> None:
    with ORGS[crm]() as org:
        workdir = tmp_path / "uninterrupted"
        workdir.mkdir()
        (workdir / "lawful-crm.toml").write_text(org.config, encoding="utf-8")
        complete_run(processes, org, workdir)
        calls = len(org.log)
        baseline = read_back(org)
        assert_every_write_audited(org, workdir, baseline, 0)
    written = sum(1 for stamp in baseline.checked.values() if stamp)
    assert written >= 3 * killable.WRITE_BATCH and calls >= 5, "several write calls among the run's calls"

    kills = 0
    for call in range(1, calls + 3):
        with ORGS[crm]() as org:
            workdir = tmp_path / f"killed-after-{call}"
            workdir.mkdir()
            (workdir / "lawful-crm.toml").write_text(org.config, encoding="utf-8")
            if not kill_after_call(processes, org, workdir, call):
                break
            kills += 1
            complete_run(processes, org, workdir)
            outcome = read_back(org)
        assert_every_write_audited(org, workdir, outcome, call)
        assert outcome.flags == baseline.flags, f"killed after call {call}: the flags differ from a whole run"
    assert kills >= calls - 1, f"killed after {kills} of the {calls} calls of an uninterrupted run"
