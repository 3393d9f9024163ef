"""``lawful-crm demo`` as a user runs it: it completes, syncs both CRMs, decides under the configuration's
``[policy]``, and everything it prints or logs is free of the seeded people's e-mail addresses and phone numbers."""

from __future__ import annotations

import shlex
import subprocess
from pathlib import Path

from sqlalchemy import create_engine, select

from connector.models import Profile
from connector.policy import PolicySettings
from connector.store.tables import runs
from crm_sandbox.people import person
from tests.e2e.test_cli_admin_flow import lawful_crm

CONTACTS = 600
SEED = 7  # the demo's seed
CONFIGURATION = """
[policy]
profile = "legal_minimum"
consent_max_idle_months = 18

[hubspot]  # the demo syncs the sandbox, never the CRMs configured here
base_url = "http://127.0.0.1:9"
access_token = "pat-na1-not-a-token"
"""


def personal_values() -> set[str]:
    values: set[str] = set()
    for index in range(int(CONTACTS * 1.3) + 1):  # Salesforce adds 30 % leads after the contacts
        p = person(SEED, index)
        # junk placeholders such as "0000000000" also occur inside record ids: they identify no one
        values.update(v for v in (p.email, p.phone) if v and len(v) > 6 and len(set(v)) > 3)
    return values


def test_the_demo_runs_both_syncs_and_no_personal_data_reaches_its_output(tmp_path: Path) -> None:
    (tmp_path / "lawful-crm.toml").write_text(CONFIGURATION, encoding="utf-8")
    done = lawful_crm(
        "demo", "--contacts", str(CONTACTS), "--changes", "40", "--store", str(tmp_path / "demo.db"),
        cwd=tmp_path,
    )  # fmt: skip
    output = done.stdout + done.stderr
    assert "salesforce" in output.lower() and "hubspot" in output.lower()
    assert "records read" in output and "audit show" in output
    assert (tmp_path / "demo.db").stat().st_size > 0
    values = personal_values()
    assert len(values) > CONTACTS  # the check has something to find
    leaked = [value for value in values if value in output]
    assert leaked == [], f"{len(leaked)} e-mail addresses or phone numbers appeared in the demo's output"
    engine = create_engine(f"sqlite:///{tmp_path / 'demo.db'}")
    with engine.connect() as db:
        ran = db.execute(select(runs.c.crm, runs.c.policy_id)).all()
    engine.dispose()
    configured = PolicySettings(profile=Profile.LEGAL_MINIMUM, consent_max_idle_months=18).policy_id
    assert sorted(crm for crm, _ in ran) == ["hubspot", "hubspot", "salesforce", "salesforce"]
    assert {policy for _, policy in ran} == {configured}, "every run decided under the configured [policy]"
    assert not (tmp_path / "lawful-crm.dnc-key").exists(), "the demo's do-not-call key is its own, not kept"
    commands = [
        line.strip() for line in done.stdout.splitlines() if line.startswith("  ") and " --store " in line
    ]
    assert len(commands) == 3, "audit show, audit export, report: each on a line of its own"
    for command in commands:
        ran = subprocess.run(shlex.split(command), cwd=tmp_path, capture_output=True, text=True, timeout=120)
        assert ran.returncode == 0, f"{command} does not run as printed: {ran.stderr[-500:]}"
    assert (tmp_path / "demo-report.html").stat().st_size > 0
