"""The default Salesforce mapping over the sandbox's seeded org, read through the real simple-salesforce."""

from __future__ import annotations

from datetime import date
from typing import Any

from simple_salesforce import Salesforce

from connector.mapping.facts import CompiledMapping, facts_from_record
from connector.mapping.load import load_mapping
from connector.policy import PolicySettings, evaluate
from crm_sandbox.salesforce.server import running_salesforce
from tests.conftest import NOW

MAPPING = CompiledMapping(load_mapping("salesforce"))
ADAPTER_FIELDS = {"Last_Won_Close_Date"}


def flatten(record: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in record.items():
        if key == "attributes":
            continue
        if isinstance(value, dict):
            flat.update(flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def test_every_seeded_contact_maps_and_messy_ones_are_never_permissive_without_review() -> None:
    """All seeded contacts translate without error; unmapped picklist values always end in review."""
    fields = [f for f in MAPPING.mapping.objects["Contact"].fields() if f not in ADAPTER_FIELDS]
    with running_salesforce(contacts=1500, seed=3) as sandbox:
        sf = Salesforce(instance_url=sandbox.base_url, session_id=sandbox.token, session=sandbox.session())
        rows = sf.query_all(f"SELECT Id, SystemModstamp, {', '.join(fields)} FROM Contact")["records"]
    assert len(rows) == 1500
    reviewed_for_unmapped = 0
    categories = set()
    for row in rows:
        flat = flatten(row)
        facts = facts_from_record(
            MAPPING, "Contact", flat["Id"], flat, modified=date.fromisoformat(flat["SystemModstamp"][:10])
        )
        decision = evaluate(facts, now=NOW, settings=PolicySettings())
        categories.add(decision.lawful_use.value)
        if any(issue.code.startswith("unmapped") for issue in facts.issues):
            assert decision.do_not_cold_call and not decision.email_allowed
            assert decision.review_needed or decision.lawful_use.value == "objected", (
                "only an objection outranks it"
            )
            reviewed_for_unmapped += 1
    assert reviewed_for_unmapped > 0, "the seed has messy picklist values"
    assert {"opt_in", "linkedin", "supplier", "purchased_list"} <= categories
