"""The real CLI, run from a directory other than the configuration file's: the store and the mapping file named
relatively in the file are the ones next to it, a new store is announced once with its absolute path, and
``audit show`` on a store without runs names that store instead of answering "no entries"."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from connector.store import open_store

REPO = Path(__file__).resolve().parents[2]
CREATED = "created a new, empty store at"


def lawful_crm(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith("LAWFUL_CRM_")}
    return subprocess.run(
        [sys.executable, "-m", "connector.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env={**env, "COLUMNS": "300"},
    )


@pytest.fixture
def layout(tmp_path: Path) -> tuple[Path, Path]:
    """``etc/lawful-crm.toml`` with a relative store and mapping file, and an unrelated working directory."""
    etc, elsewhere = tmp_path / "etc", tmp_path / "elsewhere"
    etc.mkdir()
    elsewhere.mkdir()
    shutil.copy(REPO / "mappings" / "hubspot.yaml", etc / "our-hubspot.yaml")
    (etc / "lawful-crm.toml").write_text(
        '[hubspot]\naccess_token = "not-used"\nmapping_file = "our-hubspot.yaml"\n'
        '[store]\nurl = "sqlite:///lawful-crm.db"\n',
        encoding="utf-8",
    )
    return etc, elsewhere


def test_the_store_and_mapping_next_to_the_config_file_are_used_from_any_directory(
    layout: tuple[Path, Path],
) -> None:
    etc, elsewhere = layout
    first = lawful_crm("dnc", "status", "--config", str(etc / "lawful-crm.toml"), cwd=elsewhere)
    assert first.returncode == 0, first.stderr
    assert (etc / "lawful-crm.db").is_file()
    assert not (elsewhere / "lawful-crm.db").exists()
    created = [line for line in first.stderr.splitlines() if CREATED in line]
    assert created == [f"lawful-crm: {CREATED} {etc / 'lawful-crm.db'}"]

    checked = lawful_crm(
        "mappings",
        "check",
        "--crm",
        "hubspot",
        "--offline",
        "--config",
        "../etc/lawful-crm.toml",
        cwd=elsewhere,
    )
    assert checked.returncode == 0, checked.stderr + checked.stdout
    assert "hubspot: the mapping file is valid" in checked.stdout


def test_a_second_command_on_the_same_store_does_not_announce_it_again(layout: tuple[Path, Path]) -> None:
    etc, elsewhere = layout
    config = str(etc / "lawful-crm.toml")
    assert CREATED in lawful_crm("dnc", "status", "--config", config, cwd=elsewhere).stderr
    again = lawful_crm("dnc", "status", "--config", config, cwd=elsewhere)
    assert again.returncode == 0, again.stderr
    assert CREATED not in again.stderr
    upgraded = lawful_crm("db", "upgrade", "--config", "../etc/lawful-crm.toml", cwd=elsewhere)
    assert upgraded.returncode == 0 and CREATED not in upgraded.stderr


def test_audit_show_on_a_store_without_runs_names_the_store(layout: tuple[Path, Path]) -> None:
    etc, elsewhere = layout
    shown = lawful_crm(
        "audit", "show", "--crm", "hubspot", "1296", "--config", "../etc/lawful-crm.toml", cwd=elsewhere
    )
    assert shown.returncode == 1
    assert f"this store has no runs yet: {etc / 'lawful-crm.db'}" in shown.stdout
    assert "--config" in shown.stdout and "no audit entries" not in shown.stdout
    assert CREATED in shown.stderr

    store = open_store(f"sqlite:///{etc / 'lawful-crm.db'}")
    store.runs.start("hubspot", "full", policy_id="p", now=datetime(2026, 11, 28, tzinfo=UTC))
    store.close()
    known = lawful_crm(
        "audit", "show", "--crm", "hubspot", "1296", "--config", str(etc / "lawful-crm.toml"), cwd=elsewhere
    )
    assert known.returncode == 1
    assert "no audit entries for hubspot 1296" in known.stdout and "no runs yet" not in known.stdout
    assert CREATED not in known.stderr


def test_a_store_url_from_the_environment_stays_in_the_working_directory(layout: tuple[Path, Path]) -> None:
    etc, elsewhere = layout
    env_store = {"LAWFUL_CRM_STORE__URL": "sqlite:///from-env.db"}
    done = subprocess.run(
        [sys.executable, "-m", "connector.cli", "dnc", "status", "--config", str(etc / "lawful-crm.toml")],
        cwd=elsewhere,
        capture_output=True,
        text=True,
        timeout=120,
        env={**{k: v for k, v in os.environ.items() if not k.startswith("LAWFUL_CRM_")}, **env_store},
    )
    assert done.returncode == 0, done.stderr
    assert (elsewhere / "from-env.db").is_file() and not (etc / "lawful-crm.db").exists()
    assert f"{CREATED} {elsewhere / 'from-env.db'}" in done.stderr


def test_a_missing_configuration_file_is_a_configuration_error_not_a_traceback(tmp_path: Path) -> None:
    """`--config` naming no file exits 2 with the path it looked for, for a command that opens the store."""
    missing = tmp_path / "nowhere" / "lawful-crm.toml"
    result = subprocess.run(
        [sys.executable, "-m", "connector.cli", "audit", "show", "--crm", "hubspot", "1", "--config", str(missing)],
        capture_output=True, text=True, cwd=tmp_path, check=False,
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and str(missing) in result.stderr
