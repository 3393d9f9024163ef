"""Mapping files and the pure record -> ContactFacts translation."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from connector.errors import ConfigurationError
from connector.mapping.facts import CompiledMapping, facts_from_record, read_record
from connector.mapping.load import load_mapping, parse_mapping
from connector.models import RegisterList, Screening
from connector.policy import PolicySettings, evaluate
from tests.conftest import NOW

SALESFORCE = CompiledMapping(load_mapping("salesforce"))
MODIFIED = date(2026, 11, 1)


def contact(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "Email": "jan.jansen@polder-energie.nl",
        "Phone": "+31 30 123 4567",
        "MailingCountry": "Nederland",
        "Account.Name": "Polder Energie B.V.",
        "Account.Type": "Prospect",
        "LeadSource": "LinkedIn",
        "HasOptedOutOfEmail": False,
        "DoNotCall": False,
    }
    base.update(fields)
    return base


def to_facts(fields: dict[str, Any], object_type: str = "Contact") -> Any:
    return facts_from_record(SALESFORCE, object_type, "003A", fields, modified=MODIFIED)


def test_a_clean_contact_maps_to_the_expected_facts() -> None:
    """Country name, legal form, picklist value, e-mail kind and phone all translate."""
    facts = to_facts(contact())
    assert facts.country == "NL" and facts.entity_type.value == "business"
    assert [s.kind.value for s in facts.sources] == ["linkedin_manual"]
    assert facts.email.kind.value == "named_business" and facts.call_target.value == "company_line_named"
    assert facts.issues == () and facts.customer is None


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"Email": "info@polder-energie.nl"}, "role_generic"),
        ({"Email": "jan1970@gmail.com"}, "free_mail"),
        ({"Email": None}, "none"),
    ],
)
def test_email_kind_is_detected_from_the_address(fields: dict[str, Any], expected: str) -> None:
    """Role mailboxes and free-mail domains are recognised; no address is kind none."""
    assert to_facts(contact(**fields)).email.kind.value == expected


def test_legal_forms_decide_the_entity_type_and_a_missing_company_means_consumer() -> None:
    """B.V. is a legal person, v.o.f. a sole trader, no company a consumer, a bare name stays unknown."""
    assert to_facts(contact(**{"Account.Name": "Jansen & Zn v.o.f."})).entity_type.value == "sole_trader"
    assert to_facts(contact(**{"Account.Name": None})).entity_type.value == "consumer"
    assert to_facts(contact(**{"Account.Name": "Bakkerij Jansen"})).entity_type.value == "unknown"


def test_unknown_picklist_values_become_issues_and_a_reviewed_restrictive_decision() -> None:
    """An unmapped LeadSource never yields a permissive guess: both channels closed, review needed."""
    facts = to_facts(contact(LeadSource="Koude acquisitie"))
    assert ("both", "unmapped_source") in {(i.channel, i.code) for i in facts.issues}
    decision = evaluate(facts, now=NOW, settings=PolicySettings())
    assert decision.do_not_cold_call and not decision.email_allowed and decision.review_needed
    assert "Koude" not in decision.model_dump_json(), "the raw value never reaches the decision"


def test_malformed_email_and_invalid_phone_close_their_own_channel_with_review() -> None:
    """A bad phone closes the call channel; a bad address closes e-mail; each is an issue, not an exception."""
    facts = to_facts(contact(Email="jan@@nowhere", Phone="12"))
    assert {(i.channel, i.code) for i in facts.issues} == {
        ("email", "invalid_email"),
        ("phone", "invalid_phone"),
    }
    assert evaluate(facts, now=NOW, settings=PolicySettings()).review_needed


def test_every_filled_phone_is_read_for_screening_while_the_first_decides_the_call_target() -> None:
    """The numbers to screen are every filled phone field as the CRM holds it, invalid ones too (the screener
    keeps the valid ones); the first filled field alone decides what a call reaches."""
    reading = read_record(
        SALESFORCE, "Contact", "003A", contact(Phone="12", MobilePhone="+31 6 1234 5678"), modified=MODIFIED
    )
    assert reading.phones == ("12", "+31 6 1234 5678") and reading.country == "NL"
    facts = reading.facts()
    assert [issue.code for issue in facts.issues] == ["invalid_phone"]
    assert facts.call_target.value == "company_line_named"
    assert read_record(SALESFORCE, "Contact", "003A", contact(Phone=""), modified=MODIFIED).phones == ()


def test_a_reading_makes_the_same_facts_with_the_screenings_it_is_given() -> None:
    """The facts built from a reading with the register screenings differ from the unscreened ones in those
    screenings alone."""
    listed = Screening(list=RegisterList.NL_BMNR, listed=True, since=date(2025, 3, 1), checked=MODIFIED)
    reading = read_record(SALESFORCE, "Contact", "003A", contact(), modified=MODIFIED)
    screened = reading.facts(dnc=[listed])
    assert screened.dnc == (listed,)
    assert screened.model_copy(update={"dnc": ()}) == reading.facts() == to_facts(contact())


def test_checkbox_opt_outs_date_from_the_last_modification() -> None:
    """A ticked HasOptedOutOfEmail or DoNotCall is an opt-out in force since the record last changed."""
    facts = to_facts(contact(HasOptedOutOfEmail=True, DoNotCall="true"))
    assert facts.optout_email == MODIFIED and facts.optout_phone == MODIFIED


def test_customers_get_the_org_defaults_for_the_soft_opt_in() -> None:
    """A Customer account with a won deal is a paying customer; notice flags come from the mapping defaults."""
    facts = to_facts(contact(**{"Account.Type": "Customer - Direct", "Last_Won_Close_Date": "2026-03-01"}))
    assert facts.customer is not None and facts.customer.last_sale == date(2026, 3, 1)
    assert not facts.customer.informed_at_collection
    assert "existing_customer" in {s.kind.value for s in facts.sources}


def test_a_broken_mapping_reports_every_problem_at_once() -> None:
    """Unknown keys, bad enum values and bad country codes are all listed in one error."""
    text = (
        "crm: salesforce\nobjects:\n  Contact: {email: [Email], colour: [X]}\n"
        "sources: {Web: telepathy}\ncountries: {Holland: nl}\nentity: {legal_forms: {}}\n"
    )
    with pytest.raises(ConfigurationError) as err:
        parse_mapping(text, origin="broken.yaml")
    problems = "\n".join(err.value.problems)
    for expected in ("objects.Contact.colour", "sources.Web", "countries", "writeback"):
        assert expected in problems
    assert len(err.value.problems) >= 4


def test_invalid_yaml_is_reported_with_its_position() -> None:
    """A syntax error names the line, not a traceback."""
    with pytest.raises(ConfigurationError, match=r"not valid YAML at line \d+, column \d+"):
        parse_mapping("crm: salesforce\nobjects: [unclosed\n", origin="x.yaml")
