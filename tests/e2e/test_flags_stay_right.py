"""A flag is right as of today (ARCHITECTURE invariant 9): the real CLI in subprocesses, with the real SDKs over
HTTP against the loopback emulators.

Each case changes something other than a CRM record (time, a register, the mapping, the policy settings), then
runs one ordinary ``lawful-crm sync``; a full re-decision (``sync --full --dry-run``) must then plan nothing.
Each test gets its own small sandbox and store, so no test sees another's writes.
"""

from __future__ import annotations

import json
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from connector.crm.port import CrmAdapter, CrmRecord
from connector.mapping.load import load_mapping
from connector.settings import HubSpotConfig, SalesforceConfig
from crm_sandbox.launch import Sandboxes, running_sandboxes
from crm_sandbox.people import person
from tests.e2e.test_cli_admin_flow import lawful_crm

CONTACTS = 300
SEED = 1  # the sandbox command's default seed
SEARCH_LAG = 5.0
"""Seconds HubSpot search may take to see a write: longer than one command takes, so the next command's
search still shows some records as they were before the last write-back."""
E164 = re.compile(r"\+[1-9][0-9]{7,14}")


@pytest.fixture
def sandbox() -> Iterator[Sandboxes]:
    """Both emulators, seeded as ``lawful-crm sandbox`` seeds them, served over loopback HTTP to the CLI; HubSpot
    search sees each write up to SEARCH_LAG seconds late, as HubSpot's does."""
    with running_sandboxes(contacts=CONTACTS, seed=SEED) as running:
        running.hubspot.state.search_lag_s = SEARCH_LAG
        yield running


def configure(root: Path, sandbox: Sandboxes, crm: str, extra: str = "") -> None:
    """A configuration file for one CRM of the sandbox, with the store next to it."""
    connection = sandbox.connection()
    if crm == "salesforce":
        sf = connection["salesforce"]
        table = (
            f'[salesforce]\nauth = "session"\ninstance_url = "{sf["instance_url"]}"\n'
            f'session_id = "{sf["token"]}"\npage_size = 200\n'
        )
    else:
        hs = connection["hubspot"]
        table = f'[hubspot]\nbase_url = "{hs["base_url"]}"\naccess_token = "{hs["token"]}"\n'
    (root / "lawful-crm.toml").write_text(
        table + extra + '[store]\nurl = "sqlite:///lawful-crm.db"\n', encoding="utf-8"
    )


def runs(root: Path) -> list[dict[str, Any]]:
    """The store's run log, oldest first."""
    with sqlite3.connect(root / "lawful-crm.db") as db:
        rows = db.execute("SELECT id, kind, outcome, counts FROM runs ORDER BY id").fetchall()
    return [
        {"id": i, "kind": kind, "outcome": outcome, **json.loads(counts or "{}")}
        for i, kind, outcome, counts in rows
    ]


def pulled(run: dict[str, Any]) -> int:
    """Records read from the CRM (the rest of ``read`` was decided again from the store)."""
    return int(run["read"]) - int(run["redecided"])


def first_sync(root: Path, sandbox: Sandboxes, crm: str) -> dict[str, Any]:
    """Install the fields and run the first ``lawful-crm sync`` on a new store (a full run)."""
    configure(root, sandbox, crm)
    adapter(sandbox, crm).install(dry_run=False, uninstall=False)  # `lawful-crm install`, tested elsewhere
    lawful_crm("sync", "--crm", crm, cwd=root)
    first = runs(root)[-1]
    assert (first["kind"], first["outcome"]) == ("full", "completed"), "a new store starts with a full run"
    return first


def assert_a_full_redecision_plans_nothing(root: Path, crm: str, as_of: date | None = None) -> None:
    args = ["sync", "--crm", crm, "--full", "--dry-run", "--accept-large-change", "--report", "r.json"]
    if as_of is not None:
        args += ["--as-of", as_of.isoformat()]
    lawful_crm(*args, cwd=root)
    report = json.loads((root / "r.json").read_text(encoding="utf-8"))
    drift = [(row["object_type"], row["record_id"], moved(row)) for row in report["changes"]]
    assert report["count"] == 0, f"{report['count']} planned changes, e.g. {drift[:5]}"


def moved(row: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """What a change report row says moves: each column with a ``_before`` twin that differs from it
    (empty when only the reasons change)."""
    return {
        name: (row[f"{name}_before"], row[name])
        for name in ("category", "do_not_cold_call", "email_allowed")
        if row[f"{name}_before"] != row[name]
    }


def adapter(sandbox: Sandboxes, crm: str) -> CrmAdapter:
    """The real SDK adapter, to read what the CRM holds."""
    if crm == "salesforce":
        from connector.crm.salesforce import SalesforceCrm

        sf = sandbox.connection()["salesforce"]
        config = SalesforceConfig(
            auth="session", instance_url=sf["instance_url"], session_id=SecretStr(sf["token"])
        )
        return SalesforceCrm.from_config(config, load_mapping("salesforce"))
    from connector.crm.hubspot import HubSpotCrm

    hs = sandbox.connection()["hubspot"]
    hs_config = HubSpotConfig(base_url=hs["base_url"], access_token=SecretStr(hs["token"]))
    return HubSpotCrm.from_config(hs_config, load_mapping("hubspot"))


def crm_records(sandbox: Sandboxes, crm: str) -> list[CrmRecord]:
    """Every live record as the CRM holds it now: listed by a full pull, read by id (HubSpot search may not
    show the latest writes yet; a read by id does)."""
    port = adapter(sandbox, crm)
    return [
        record
        for t in port.object_types
        for record in port.read(
            t, [r.id for page in port.pull(t, since=None) for r in page.records if not r.deleted]
        )
    ]


def is_set(value: object) -> bool:
    return value is True or str(value).lower() == "true"


def e164_numbers(record: CrmRecord, crm: str) -> list[str]:
    phones = load_mapping(crm).objects[record.object_type].phones
    values = (str(record.fields.get(p.field) or "") for p in phones)
    return [value for value in values if E164.fullmatch(value)]


def register_file(root: Path, country: str, calling_code: str, count: int = 12) -> Path:
    """A national register's copy listing numbers of seeded people of that country."""
    numbers = []
    for index in range(int(CONTACTS * 1.3)):
        p = person(SEED, index)
        if (
            p.country == country
            and p.phone
            and E164.fullmatch(p.phone)
            and p.phone[1:].startswith(calling_code)
        ):
            numbers.append(p.phone)
    assert len(numbers) >= count, "the seed has numbers of that country"
    path = root / f"{country}.txt"
    path.write_text("\n".join(numbers[:count]) + "\n", encoding="utf-8")
    return path


def later(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


@pytest.mark.parametrize("crm", ["salesforce", "hubspot"])
def test_three_years_without_an_edit(sandbox: Sandboxes, tmp_path: Path, crm: str) -> None:
    configure(tmp_path, sandbox, crm)
    # a register screening makes some numbers callable today; three years on, that screening is too old
    lawful_crm("dnc", "import", "--list", "BE_DNCM", str(register_file(tmp_path, "BE", "32")), cwd=tmp_path)
    first_sync(tmp_path, sandbox, crm)
    today = datetime.now(UTC).date()
    ahead = later(today, 3)

    lawful_crm("sync", "--crm", crm, "--as-of", ahead.isoformat(), cwd=tmp_path)

    run = runs(tmp_path)[-1]
    assert (run["kind"], run["outcome"]) == ("incremental", "completed")
    assert pulled(run) == 0, "nothing changed in the CRM: nothing is read from it"
    assert run["redecided"] > 0
    assert run["written"] > 0
    transitions = run["transitions"]
    assert transitions.get("email_allowed: true→false", 0) > 0, "consents went stale"
    assert transitions.get("do_not_cold_call: false→true", 0) > 0, "register screenings grew too old"
    assert not any(t.endswith("→unset") for t in transitions)
    assert_a_full_redecision_plans_nothing(tmp_path, crm, ahead)


@pytest.mark.parametrize("crm", ["salesforce", "hubspot"])
def test_numbers_added_to_the_own_list_are_not_called(sandbox: Sandboxes, tmp_path: Path, crm: str) -> None:
    first_sync(tmp_path, sandbox, crm)
    flag = load_mapping(crm).writeback.do_not_cold_call
    callable_now = [
        r for r in crm_records(sandbox, crm) if not is_set(r.fields.get(flag)) and e164_numbers(r, crm)
    ]
    chosen = callable_now[:8]
    assert len(chosen) == 8, "the seed has callable contacts with a number"
    own = tmp_path / "own.txt"
    own.write_text("\n".join(n for r in chosen for n in e164_numbers(r, crm)) + "\n", encoding="utf-8")
    lawful_crm("dnc", "import", "--list", "OWN", str(own), cwd=tmp_path)

    lawful_crm("sync", "--crm", crm, cwd=tmp_path)

    run = runs(tmp_path)[-1]
    assert (run["kind"], run["outcome"]) == ("incremental", "completed")
    assert pulled(run) == 0, "nothing changed in the CRM: nothing is read from it"
    assert run["redecided"] >= len(chosen), "re-screened from the store"
    port = adapter(sandbox, crm)
    now_held = {
        r.id: r.fields.get(flag)
        for t in port.object_types
        for r in port.read(t, [c.id for c in chosen if c.object_type == t])
    }
    assert len(now_held) == len(chosen)
    assert [i for i, value in now_held.items() if not is_set(value)] == [], "not to be called any more"
    assert_a_full_redecision_plans_nothing(tmp_path, crm)


def set_slow(sandbox: Sandboxes, seconds: float) -> None:
    """Every Salesforce response takes this long (0 = no delay): a run lasts long enough to be stopped."""
    sandbox.salesforce.state.faults.configure(slow_rate=1.0 if seconds else 0.0, slow_seconds=seconds)


def pages_done(database: Path, run_id: int) -> int:
    try:
        with sqlite3.connect(database, timeout=1) as db:
            return int(db.execute("SELECT count(*) FROM cursors WHERE run_id = ?", (run_id,)).fetchone()[0])
    except sqlite3.OperationalError:
        return 0


def test_a_register_change_then_a_full_sync_stopped_with_ctrl_c(sandbox: Sandboxes, tmp_path: Path) -> None:
    first_sync(tmp_path, sandbox, "salesforce")
    lawful_crm("dnc", "import", "--list", "BE_DNCM", str(register_file(tmp_path, "BE", "32")), cwd=tmp_path)

    set_slow(sandbox, 0.3)  # long enough a run to stop it halfway
    try:
        victim = subprocess.Popen(
            [sys.executable, "-m", "connector.cli", "sync", "--crm", "salesforce", "--full"],
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while pages_done(tmp_path / "lawful-crm.db", run_id=2) == 0 and time.monotonic() < deadline:
            time.sleep(0.02)
        victim.send_signal(signal.SIGINT)
        assert victim.wait(timeout=60) == 3
    finally:
        set_slow(sandbox, 0)
    stopped = runs(tmp_path)[-1]
    assert (stopped["id"], stopped["kind"], stopped["outcome"]) == (2, "full", "interrupted")
    assert 0 < stopped["read"] < CONTACTS, "stopped halfway"

    lawful_crm("sync", "--crm", "salesforce", cwd=tmp_path)
    run = runs(tmp_path)[-1]
    assert (run["kind"], run["outcome"]) == ("incremental", "completed")
    assert run["redecided"] > 0, "the records the stopped run did not reach are re-screened from the store"
    assert [r["id"] for r in runs(tmp_path) if r["kind"] == "full" and r["outcome"] == "completed"] == [1]
    assert_a_full_redecision_plans_nothing(tmp_path, "salesforce")


def test_a_mapping_edit_makes_the_next_sync_a_full_one(sandbox: Sandboxes, tmp_path: Path) -> None:
    first = first_sync(tmp_path, sandbox, "salesforce")
    assert first["categories"].get("purchased_list", 0) > 0
    default = (Path(__file__).parents[2] / "mappings" / "salesforce.yaml").read_text(encoding="utf-8")
    edited = default.replace("  Purchased List: purchased_list\n", "  Purchased List: linkedin_manual\n")
    assert edited != default
    (tmp_path / "mapping.yaml").write_text(edited, encoding="utf-8")
    configure(tmp_path, sandbox, "salesforce", 'mapping_file = "mapping.yaml"\n')

    done = lawful_crm("sync", "--crm", "salesforce", cwd=tmp_path)

    assert "a full run: the mapping changed" in done.stdout
    run = runs(tmp_path)[-1]
    assert (run["kind"], run["outcome"]) == ("full", "completed")
    assert "purchased_list" not in run["categories"] and run["written"] > 0
    assert_a_full_redecision_plans_nothing(tmp_path, "salesforce")


def test_a_policy_setting_change_redecides_every_record_from_the_store(
    sandbox: Sandboxes, tmp_path: Path
) -> None:
    first = first_sync(tmp_path, sandbox, "salesforce")
    configure(tmp_path, sandbox, "salesforce", "[policy]\nconsent_max_idle_months = 6\n")

    lawful_crm("sync", "--crm", "salesforce", cwd=tmp_path)

    run = runs(tmp_path)[-1]
    assert (run["kind"], run["outcome"]) == ("incremental", "completed")
    assert pulled(run) == 0, "nothing changed in the CRM: nothing is read from it"
    assert run["redecided"] == first["read"], "every record decided again from the store"
    assert run["transitions"].get("email_allowed: true→false", 0) > 0, "consents older than 6 months lapse"
    assert any("decided under another policy" in note for note in run["notes"])
    assert_a_full_redecision_plans_nothing(tmp_path, "salesforce")
