"""The admin's path through the real CLI against a sandbox in a subprocess: install, mappings check, dry run
with a report, sync, a second sync, audit show/export, forget; and no personal data in any output."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from crm_sandbox.people import person
from tests.helpers import sandbox_process

CONTACTS = 400
SEED = 1  # the sandbox command's default seed


def lawful_crm(*args: str, cwd: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200"}
    done = subprocess.run(
        [sys.executable, "-m", "connector.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    if check:
        assert done.returncode == 0, done.stderr[-2000:] + done.stdout[-2000:]
    return done


@pytest.fixture(scope="module")
def sandbox() -> Iterator[dict[str, Any]]:
    with sandbox_process(contacts=CONTACTS) as settings:
        yield settings


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory, sandbox: dict[str, Any]) -> Path:
    root = tmp_path_factory.mktemp("admin")
    sf, hs = sandbox["salesforce"], sandbox["hubspot"]
    (root / "lawful-crm.toml").write_text(
        f'[salesforce]\nauth = "session"\ninstance_url = "{sf["instance_url"]}"\nsession_id = "{sf["token"]}"\n'
        f'[hubspot]\nbase_url = "{hs["base_url"]}"\naccess_token = "{hs["token"]}"\n'
        '[store]\nurl = "sqlite:///lawful-crm.db"\n',
        encoding="utf-8",
    )
    return root


def personal_values() -> set[str]:
    values: set[str] = set()
    for i in range(CONTACTS):
        p = person(SEED, i)
        # junk placeholders such as "0000000000" also occur inside record ids: they identify no one
        values.update(v for v in (p.email, p.phone) if v and len(v) > 6 and len(set(v)) > 3)
    return values


def test_the_admin_flow_end_to_end(workdir: Path) -> None:
    outputs: list[str] = []

    def run(*args: str, expect: int = 0) -> subprocess.CompletedProcess[str]:
        done = lawful_crm(*args, cwd=workdir, check=False)
        outputs.append(done.stdout + done.stderr)
        assert done.returncode == expect, (
            f"{args}: {done.returncode}\n{done.stderr[-1500:]}{done.stdout[-1500:]}"
        )
        return done

    dry_install = run("install", "--dry-run")
    assert "would create" in dry_install.stdout
    run("install")
    assert "nothing to do" in run("install").stdout

    check = run("mappings", "check", "--crm", "salesforce", expect=1)
    assert "problem(s) against the CRM" in check.stdout and "not mapped" in check.stdout, (
        "the seed has messy values"
    )

    run("sync", "--dry-run", "--report", "planned.csv")
    with (workdir / "planned.csv").open(encoding="utf-8") as handle:
        planned = list(csv.DictReader(handle))
    assert planned and {row["status"] for row in planned} == {"planned"}
    assert {row["crm"] for row in planned} == {"salesforce", "hubspot"}

    first = run("sync")
    assert "updates written" in first.stdout
    second = run("sync", "--crm", "all")
    assert "records read" in second.stdout

    record_id = planned[0]["record_id"]
    crm = planned[0]["crm"]
    shown = run("audit", "show", "--crm", crm, record_id)
    assert "written" in shown.stdout
    pack = json.loads(run("audit", "export", "--crm", crm, record_id).stdout)
    assert pack["entries"][0]["decision"]["policy"].startswith("lawful-use")
    assert pack["entries"][0]["facts"]["id"] == record_id
    assert "erased" in run("forget", "--crm", crm, record_id).stdout
    run("audit", "show", "--crm", crm, record_id, expect=1)

    report_text = (workdir / "planned.csv").read_text(encoding="utf-8")
    everything = "\n".join(outputs) + report_text + json.dumps(pack)
    leaked = [value for value in personal_values() if value in everything]
    assert leaked == [], f"{len(leaked)} e-mail addresses or phone numbers appeared in output"


def test_a_broken_configuration_exits_2_listing_every_problem(tmp_path: Path) -> None:
    (tmp_path / "lawful-crm.toml").write_text(
        '[salesforce]\nauth = "jwt"\n[sync]\nguard_share = 3\n', encoding="utf-8"
    )
    done = lawful_crm("sync", cwd=tmp_path, check=False)
    assert done.returncode == 2
    assert "sync.guard_share" in done.stderr
