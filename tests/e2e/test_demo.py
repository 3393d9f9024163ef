"""``lawful-crm demo`` as a user runs it: it completes, syncs both CRMs, and everything it prints or logs is free
of the seeded people's e-mail addresses and phone numbers."""

from __future__ import annotations

from pathlib import Path

from connector.sandbox.people import person
from tests.e2e.test_cli_admin_flow import lawful_crm

CONTACTS = 600
SEED = 7  # the demo's seed


def personal_values() -> set[str]:
    values: set[str] = set()
    for index in range(int(CONTACTS * 1.3) + 1):  # Salesforce adds 30 % leads after the contacts
        p = person(SEED, index)
        # junk placeholders such as "0000000000" also occur inside record ids: they identify no one
        values.update(v for v in (p.email, p.phone) if v and len(v) > 6 and len(set(v)) > 3)
    return values


def test_the_demo_runs_both_syncs_and_no_personal_data_reaches_its_output(tmp_path: Path) -> None:
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
