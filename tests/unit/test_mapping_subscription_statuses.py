"""HubSpot subscription statuses read under the default mapping: consents, opt-outs, assessments. Pure."""

from __future__ import annotations

from datetime import date
from typing import Any

from connector.mapping.facts import CompiledMapping, facts_from_record
from connector.mapping.load import load_mapping
from connector.mapping.subscriptions import STATUSES_FIELD, SubscriptionStatus
from connector.models import Consent, ContactFacts
from connector.policy import PolicySettings, evaluate
from tests.conftest import NOW

MAPPING = load_mapping("hubspot")
HUBSPOT = CompiledMapping(MAPPING)
CREATED = date(2023, 5, 1)


def contact(*statuses: SubscriptionStatus, **fields: Any) -> dict[str, Any]:
    """A consumer in NL from an organic search (no opt-in of its own) with the given statuses."""
    base: dict[str, Any] = {
        "email": "sanne@example.nl",
        "hs_country_region_code": "NL",
        "lifecyclestage": "lead",
        "hs_analytics_source": "ORGANIC_SEARCH",
        "hs_email_optout": "false",
        STATUSES_FIELD: statuses,
    }
    return base | fields


def status(name: str, state: str, at: date | None, basis: str | None = None) -> SubscriptionStatus:
    return SubscriptionStatus("1", name, state, at, basis)  # type: ignore[arg-type]


def to_facts(fields: dict[str, Any]) -> ContactFacts:
    return facts_from_record(HUBSPOT, "contacts", "1001", fields, modified=CREATED)


def email_allowed(fields: dict[str, Any]) -> bool:
    return evaluate(to_facts(fields), now=NOW, settings=PolicySettings()).email_allowed


SUBSCRIBED = status("Marketing Information", "SUBSCRIBED", date(2025, 3, 2), "CONSENT_WITH_NOTICE")


def test_a_subscribed_status_with_a_consent_basis_is_a_dated_consent() -> None:
    """The consent is dated by the status's timestamp, given to us, and opens marketing e-mail."""
    facts = to_facts(contact(SUBSCRIBED))
    assert facts.consents == (Consent(channel="email", date=date(2025, 3, 2)),)
    assert facts.optout_email is None
    assert email_allowed(contact(SUBSCRIBED))
    assert not email_allowed(contact())


def test_a_later_unsubscribe_closes_the_channel_and_a_later_consent_reopens_it() -> None:
    """UNSUBSCRIBED is an opt-out dated by its timestamp; the latest of the two dates decides."""
    later = status("Product News", "UNSUBSCRIBED", date(2025, 6, 1))
    earlier = status("Product News", "UNSUBSCRIBED", date(2024, 6, 1))
    assert to_facts(contact(SUBSCRIBED, later)).optout_email == date(2025, 6, 1)
    assert not email_allowed(contact(SUBSCRIBED, later))
    assert email_allowed(contact(SUBSCRIBED, earlier))


def test_unsubscribed_from_all_stays_the_global_opt_out() -> None:
    """hs_email_optout closes e-mail whatever a subscription status says (rule G2)."""
    assert not email_allowed(contact(SUBSCRIBED, hs_email_optout="true"))


def test_types_the_mapping_does_not_count_and_bases_that_say_nothing_give_no_fact() -> None:
    """Service mail, unplaced types, NOT_SPECIFIED and a non-consent basis neither open nor close."""
    quiet = (
        status("One to One", "SUBSCRIBED", date(2025, 1, 1), "CONSENT_WITH_NOTICE"),
        status("Customer Service Communication", "UNSUBSCRIBED", date(2025, 1, 1)),
        status("Some type nobody placed", "UNSUBSCRIBED", date(2025, 1, 1)),
        status("Marketing Information", "NOT_SPECIFIED", date(2025, 1, 1)),
        status("Marketing Information", "SUBSCRIBED", date(2025, 1, 1), "PERFORMANCE_OF_CONTRACT"),
        status("Marketing Information", "SUBSCRIBED", date(2025, 1, 1)),
    )
    facts = to_facts(contact(*quiet))
    assert facts.consents == () and facts.optout_email is None and facts.issues == ()


def test_an_unknown_basis_is_an_issue_never_a_consent() -> None:
    """A basis code the mapping does not know reviews the e-mail channel."""
    facts = to_facts(contact(status("Marketing Information", "SUBSCRIBED", date(2025, 1, 1), "NEW_BASIS")))
    assert facts.consents == ()
    assert [(i.channel, i.code) for i in facts.issues] == [("email", "unmapped_legal_basis")]


def test_a_bundling_type_gives_a_consent_that_is_not_specific() -> None:
    """``specific: false`` marks the consent invalid, so it opens nothing."""
    bundling = {"Marketing Information": {"channel": "email", "specific": False}}
    mapping = CompiledMapping(
        type(MAPPING).model_validate(MAPPING.model_dump() | {"subscriptions": bundling})
    )
    facts = facts_from_record(mapping, "contacts", "1001", contact(SUBSCRIBED), modified=CREATED)
    assert facts.consents == (Consent(channel="email", date=date(2025, 3, 2), specific=False),)
    assert not evaluate(facts, now=NOW, settings=PolicySettings()).email_allowed


def test_a_legitimate_interest_status_counts_only_with_a_documented_assessment() -> None:
    """A legitimate-interest basis gives its ``lia_ref`` when the mapping names one, else nothing."""
    li = status("Marketing Information", "SUBSCRIBED", date(2025, 1, 1), "LEGITIMATE_INTEREST_PQL")
    assert to_facts(contact(li)).lia_ref is None
    documented = CompiledMapping(
        type(MAPPING).model_validate(
            MAPPING.model_dump()
            | {
                "legal_bases": MAPPING.model_dump()["legal_bases"]
                | {"LEGITIMATE_INTEREST_PQL": {"kind": "legitimate_interest", "lia_ref": "LIA-7"}}
            }
        )
    )
    facts = facts_from_record(documented, "contacts", "1001", contact(li), modified=CREATED)
    assert facts.lia_ref == "LIA-7"
