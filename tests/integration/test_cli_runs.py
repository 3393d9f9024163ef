"""``lawful-crm runs``: the history a CRM admin reads, and runs whose process died never left "running"."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from connector import bootstrap
from connector.commands.runs import flag_moves
from connector.dnc.registers import DncRegisters
from connector.mapping.facts import CompiledMapping
from connector.mapping.load import load_mapping
from connector.policy import PolicySettings
from connector.settings import Settings
from connector.store import open_store
from connector.sync.run import SyncOptions, run_sync
from tests.conftest import NOW
from tests.dnc_keys import TEST_KEY
from tests.fakes import FakeCrm


def test_flag_moves_sort_transitions_by_direction() -> None:
    moves = flag_moves(
        {
            "do_not_cold_call: true→false": 2,
            "do_not_cold_call: false→true": 3,
            "email_allowed: false→true": 5,
            "email_allowed: true→false": 7,
            "email_allowed: unset→true": 11,
        }
    )
    assert moves == {"opened": 7, "closed": 10, "first": 11}


def test_runs_lists_the_history_newest_first_as_json(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    store = open_store(url)
    crm = FakeCrm.seeded(80)
    mapping = CompiledMapping(load_mapping("salesforce"))
    for as_of in (NOW, NOW + timedelta(days=3 * 365)):
        options = SyncOptions(as_of=as_of, accept_large_change=True)
        run_sync(
            crm,
            mapping,
            PolicySettings(),
            store,
            options,
            clock=crm.now,
            screener=DncRegisters(store, key=TEST_KEY),
        )
    store.close()
    shown = subprocess.run(
        [sys.executable, "-m", "connector.cli", "runs", "--json", "--store", url],
        capture_output=True, text=True, cwd=tmp_path, check=True,
    )  # fmt: skip
    later, first = (json.loads(line) for line in shown.stdout.splitlines())
    assert (first["kind"], first["outcome"], first["read"], first["written"]) == ("full", "completed", 80, 80)
    assert first["flags"]["first"] > 0 and first["review_needed"] > 0
    assert later["kind"] == "incremental" and later["redecided"] > 0 and later["flags"]["closed"] > 0
    assert later["as_of"] == (NOW + timedelta(days=3 * 365)).isoformat()
    assert all(row["duration_s"] is not None and row["api_calls"] is not None for row in (first, later))
    table = subprocess.run(
        [sys.executable, "-m", "connector.cli", "runs", "--store", url],
        capture_output=True, text=True, cwd=tmp_path, check=True,
    )  # fmt: skip
    assert "completed" in table.stdout and "incremental" in table.stdout


def test_a_run_whose_process_died_is_marked_interrupted_by_the_next_command(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    store = open_store(url)
    now = datetime.now(UTC)
    dead = store.runs.start("salesforce", "full", policy_id="p", now=now)
    alive = store.runs.start("hubspot", "incremental", policy_id="p", now=now)
    store.locks.acquire(
        "sync:hubspot", f"{socket.gethostname()}:{os.getpid()}", now=now, ttl=timedelta(hours=1)
    )
    store.close()
    reopened = bootstrap.store_for(Settings(), url)
    outcomes = {run.id: run.outcome for run in reopened.runs.recent(limit=5)}
    assert outcomes == {dead: "interrupted", alive: "running"}
    reopened.close()
