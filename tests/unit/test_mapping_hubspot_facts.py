"""The default HubSpot mapping: source drill-downs, legal bases, relationships. Pure."""

from __future__ import annotations

from datetime import date
from typing import Any

from connector.mapping.facts import CompiledMapping, facts_from_record
from connector.mapping.load import load_mapping
from connector.models import ContactFacts
from connector.policy import PolicySettings, evaluate
from tests.conftest import NOW

MAPPING = load_mapping("hubspot")
HUBSPOT = CompiledMapping(MAPPING)
CREATED = date(2023, 5, 1)


def contact(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "email": "sanne.bakker@polder-energie.nl",
        "phone": "+31 30 123 4567",
        "hs_country_region_code": "NL",
        "company.name": "Polder Energie B.V.",
        "company.type": "PROSPECT",
        "lifecyclestage": "lead",
        "lead_source": None,
        "hs_analytics_source": "ORGANIC_SEARCH",
        "hs_analytics_source_data_1": "google",
        "hs_email_optout": "false",
    }
    base.update(fields)
    return base


def to_facts(fields: dict[str, Any]) -> ContactFacts:
    return facts_from_record(HUBSPOT, "contacts", "1001", fields, modified=CREATED)


def kinds(facts: ContactFacts) -> set[str]:
    return {s.kind.value for s in facts.sources}


def test_the_custom_lead_source_wins_over_the_analytics_source() -> None:
    """lead_source is read first; the analytics source only when it is empty."""
    assert kinds(to_facts(contact(lead_source="linkedin_manual"))) == {"linkedin_manual"}
    assert kinds(to_facts(contact())) == {"whitepaper_no_optin"}


def test_offline_sources_are_told_apart_by_their_drill_down() -> None:
    """OFFLINE/IMPORT, OFFLINE/INTEGRATION and a bare OFFLINE map to different kinds."""
    imported = to_facts(contact(hs_analytics_source="OFFLINE", hs_analytics_source_data_1="IMPORT"))
    integration = to_facts(contact(hs_analytics_source="OFFLINE", hs_analytics_source_data_1="INTEGRATION"))
    bare = to_facts(contact(hs_analytics_source="OFFLINE", hs_analytics_source_data_1="SOMETHING_NEW"))
    assert kinds(imported) == {"purchased_list"} and kinds(integration) == {"linkedin_tool"}
    assert kinds(bare) == {"unknown"} and bare.issues == ()


def test_the_latest_source_stands_in_when_the_original_is_empty() -> None:
    """hs_latest_source is the third choice."""
    facts = to_facts(contact(hs_analytics_source=None, hs_latest_source="REFERRALS"))
    assert kinds(facts) == {"referral"}


def test_a_consent_legal_basis_is_an_email_consent_dated_by_the_consent_date_or_creation() -> None:
    """ "Freely given consent" becomes an e-mail consent: on email_consent_date, else on the creation date."""
    dated = to_facts(
        contact(hs_legal_basis="Freely given consent from contact", email_consent_date="2025-02-03")
    )
    assert [(c.channel, c.date) for c in dated.consents] == [("email", date(2025, 2, 3))]
    undated = to_facts(contact(hs_legal_basis="Freely given consent from contact"))
    assert [(c.channel, c.date) for c in undated.consents] == [("email", CREATED)]


def test_legitimate_interest_counts_as_an_assessment_only_once_one_is_named() -> None:
    """The default mapping's LI values give no lia_ref; a mapping that names its LIA gives that reference."""
    basis = "Legitimate interest – prospect/lead"
    assert to_facts(contact(hs_legal_basis=basis)).lia_ref is None
    raw = MAPPING.model_dump()
    raw["legal_bases"][basis] = {"kind": "legitimate_interest", "lia_ref": "LIA-7"}
    named = type(MAPPING).model_validate(raw)
    facts = facts_from_record(
        CompiledMapping(named), "contacts", "1", contact(hs_legal_basis=basis), modified=CREATED
    )
    assert facts.lia_ref == "LIA-7"


def test_several_legal_bases_are_read_and_an_unknown_one_ends_in_review() -> None:
    """;-joined values are each mapped; one unmapped value is an issue, and the decision is reviewed."""
    facts = to_facts(contact(hs_legal_basis="Not applicable;Legitimate interest — typo"))
    assert ("both", "unmapped_legal_basis") in {(i.channel, i.code) for i in facts.issues}
    decision = evaluate(facts, now=NOW, settings=PolicySettings())
    assert decision.review_needed and decision.do_not_cold_call and not decision.email_allowed


def test_company_type_decides_the_relationship_before_the_lifecycle_stage() -> None:
    """A VENDOR company makes a supplier; without a company the lifecycle stage decides."""
    assert "supplier" in kinds(to_facts(contact(**{"company.type": "VENDOR"})))
    consumer = to_facts(contact(**{"company.type": None, "company.name": None, "lifecyclestage": "customer"}))
    assert consumer.customer is not None and consumer.entity_type.value == "consumer"


def test_the_unsubscribe_flag_is_an_email_opt_out() -> None:
    """hs_email_optout "true" is an opt-out in force; "false" is none."""
    assert to_facts(contact(hs_email_optout="true")).optout_email is not None
    assert to_facts(contact()).optout_email is None


def test_the_country_comes_from_the_code_then_the_free_text_then_the_company() -> None:
    """hs_country_region_code first; the free-text country and the company's country are read by name."""
    assert to_facts(contact(hs_country_region_code=None, country="Deutschland")).country == "DE"
    facts = to_facts(contact(hs_country_region_code=None, **{"company.country": "Belgium"}))
    assert facts.country == "BE"
