"""The default HubSpot mapping over the sandbox's seeded portal, read through the adapter and the real SDK."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from connector.crm.hubspot import HubSpotCrm
from connector.errors import ConfigurationError
from connector.mapping.facts import CompiledMapping, facts_from_record
from connector.mapping.load import load_mapping, parse_mapping
from connector.policy import PolicySettings, evaluate
from connector.settings import HubSpotConfig
from crm_sandbox.hubspot import HubSpotSandbox, running_hubspot
from tests.conftest import NOW

MAPPING = load_mapping("hubspot")
COMPILED = CompiledMapping(MAPPING)


@pytest.fixture(scope="module")
def hs() -> Iterator[HubSpotSandbox]:
    with running_hubspot(contacts=1500, seed=3, per_ten_seconds=None, search_per_second=None) as sandbox:
        yield sandbox


@pytest.fixture(scope="module")
def crm(hs: HubSpotSandbox) -> HubSpotCrm:
    config = HubSpotConfig(
        base_url=hs.base_url, access_token=SecretStr(hs.token), per_ten_seconds=10_000, search_per_second=100
    )
    return HubSpotCrm.from_config(config, MAPPING)


def test_every_seeded_contact_maps_and_unmapped_values_always_end_in_review(crm: HubSpotCrm) -> None:
    """All seeded contacts translate without error; unmapped values are never permissive; many categories occur."""
    records = [r for page in crm.pull("contacts", since=None) for r in page.records]
    assert len(records) == 1500
    categories: Counter[str] = Counter()
    unmapped: Counter[str] = Counter()
    for record in records:
        facts = facts_from_record(
            COMPILED,
            "contacts",
            record.id,
            record.fields,
            modified=(record.created or record.modified).date(),
        )
        decision = evaluate(facts, now=NOW, settings=PolicySettings())
        categories[decision.lawful_use.value] += 1
        codes = {issue.code for issue in facts.issues if issue.code.startswith("unmapped")}
        unmapped.update(codes)
        if codes:
            assert decision.do_not_cold_call and not decision.email_allowed
            assert decision.review_needed or decision.lawful_use.value == "objected", (
                "only an objection outranks it"
            )
    assert unmapped["unmapped_relationship"] > 0, "the seed has a hand-typed company type and custom stages"
    assert {"opt_in", "customer", "linkedin", "supplier", "purchased_list"} <= set(categories)


def test_legal_basis_consent_and_analytics_drill_down_reach_the_facts(crm: HubSpotCrm) -> None:
    """A consent recorded in hs_legal_basis becomes an e-mail consent; OFFLINE/IMPORT maps through its drill-down."""
    records = [r for page in crm.pull("contacts", since=None) for r in page.records]
    consenting = next(
        r for r in records if r.fields.get("hs_legal_basis") == "Freely given consent from contact"
    )
    assert any(c.channel == "email" for c in facts_from_record(
        COMPILED, "contacts", consenting.id, consenting.fields, modified=NOW
    ).consents)  # fmt: skip
    imported = dict(next(r for r in records if r.fields.get("hs_analytics_source_data_1") == "IMPORT").fields)
    imported["lead_source"] = None
    facts = facts_from_record(COMPILED, "contacts", "x", imported, modified=NOW)
    assert "purchased_list" in {s.kind.value for s in facts.sources}


def test_the_default_mapping_reads_only_properties_the_portal_has(crm: HubSpotCrm) -> None:
    """Every field the mapping reads exists in describe; after install every write-back field is writable."""
    described = crm.describe("contacts")
    missing = [f for f in MAPPING.objects["contacts"].fields() if f not in described]
    assert missing == []
    assert described["company.type"].values and "VENDOR" in described["company.type"].values
    crm.install(dry_run=False, uninstall=False)
    described = crm.describe("contacts")
    wb = MAPPING.writeback
    for name in (wb.do_not_cold_call, wb.email_allowed, wb.lawful_use, wb.reason, wb.review, wb.checked):
        assert described[name].writable, name
    assert set(described[wb.lawful_use].values or ()) >= {"objected", "opt_in", "unknown"}


def test_a_broken_hubspot_mapping_lists_every_problem_readably() -> None:
    """Bad legal-basis kinds, bad source entries, bad channels and a missing write-back are all reported at once."""
    text = (
        "crm: hubspot\n"
        "objects:\n"
        "  contacts:\n"
        "    source: [{field: hs_analytics_source, drill: x}]\n"
        "    legal_basis: [hs_legal_basis]\n"
        "sources: {ORGANIC_SEARCH: telepathy}\n"
        "legal_bases:\n"
        "  'Freely given consent from contact': {kind: consent, channels: [fax]}\n"
        "  'Not applicable': maybe\n"
        "entity: {legal_forms: {}}\n"
    )
    with pytest.raises(ConfigurationError) as err:
        parse_mapping(text, origin="hubspot-broken.yaml")
    problems = err.value.problems
    text_of = "\n".join(problems)
    for expected in (
        "objects.contacts.source.0",
        "sources.ORGANIC_SEARCH",
        "legal_bases.Freely given consent from contact.channels.0",
        "legal_bases.Not applicable.kind",
        "writeback",
    ):
        assert expected in text_of, expected
    assert all(": " in line and "\n" not in line for line in problems), "one readable line per problem"
