"""The synthetic person generator: deterministic, varied, realistic enough, cheap."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import fields

import phonenumbers

from crm_sandbox.people import DATA_END, Person, person

SAMPLE = [person(3, index) for index in range(5000)]


def test_the_same_seed_and_index_give_the_same_person() -> None:
    """Generation is deterministic per (seed, index) and independent of call order."""
    assert person(3, 1234) == SAMPLE[1234]
    assert person(4, 1234) != SAMPLE[1234]


def test_the_person_interface_is_stable() -> None:
    """The fields the HubSpot and Salesforce emulators code against are all there, in order."""
    assert [item.name for item in fields(Person)] == [
        "index", "first_name", "last_name", "email", "email_kind", "phone", "country", "company", "legal_form",
        "entity_type", "relation", "source", "source_date", "email_consent", "phone_consent", "optout_email",
        "optout_phone", "objection", "last_won_deal", "created", "modified", "messy",
    ]  # fmt: skip


def test_categorical_fields_use_only_the_documented_values() -> None:
    """email_kind, entity_type, relation and source stay within their vocabularies."""
    sources = {
        "web_form_optin", "whitepaper_optin", "whitepaper_no_optin", "event_optin", "event_list", "purchased_list",
        "linkedin_manual", "linkedin_tool", "public_registry", "public_website", "supplier", "existing_customer",
        "partner", "referral", "personal_acquaintance", "unknown",
    }  # fmt: skip
    assert {p.email_kind for p in SAMPLE} == {"named_business", "role_generic", "free_mail", "none"}
    assert {p.entity_type for p in SAMPLE} == {"consumer", "sole_trader", "business"}
    assert {p.relation for p in SAMPLE} == {
        "prospect",
        "customer",
        "former_customer",
        "partner",
        "supplier",
        "other",
    }
    assert {p.source for p in SAMPLE} <= sources
    assert len({p.source for p in SAMPLE}) >= 14


def test_countries_are_mostly_the_five_target_markets() -> None:
    """NL, DE, BE, FR and GB make up most people; some others and some unknowns appear."""
    countries = Counter(p.country for p in SAMPLE)
    assert sum(countries[code] for code in ("NL", "DE", "BE", "FR", "GB")) / len(SAMPLE) > 0.8
    assert countries["US"] > 0 and countries[None] > 0


def test_timestamps_are_aware_ordered_and_in_the_past() -> None:
    """created <= modified <= the end of the data window, both in UTC; dates follow creation."""
    for p in SAMPLE:
        assert p.created.tzinfo is not None and p.created <= p.modified <= DATA_END
        for day in (p.optout_email, p.optout_phone, p.objection):
            assert day is None or p.created.date() <= day <= DATA_END.date()


def test_consumers_have_no_company_and_businesses_have_one() -> None:
    """Legal form and company are set exactly for businesses and sole traders."""
    for p in SAMPLE:
        assert (p.company is None) == (p.entity_type == "consumer")
        assert (p.legal_form is None) == (p.entity_type == "consumer")


def test_customers_and_former_customers_have_a_won_deal() -> None:
    """last_won_deal is set for (former) customers and for nobody else."""
    for p in SAMPLE:
        assert (p.last_won_deal is not None) == (p.relation in ("customer", "former_customer"))


def test_clean_phone_numbers_of_the_target_markets_are_valid() -> None:
    """Almost every non-messy NL/DE/BE/FR/GB number, E.164 or local, is a valid number for its country."""
    checked = valid = 0
    for p in SAMPLE:
        if p.messy or p.phone is None or p.country not in ("NL", "DE", "BE", "FR", "GB"):
            continue
        checked += 1
        valid += phonenumbers.is_valid_number(phonenumbers.parse(p.phone, p.country))
    assert checked > 3000 and valid / checked > 0.99


def test_both_e164_and_local_formats_occur() -> None:
    """Phones come in E.164 and in local notation."""
    phones = [p.phone for p in SAMPLE if p.phone and not p.messy]
    assert any(phone.startswith("+") for phone in phones)
    assert any(phone.startswith("0") for phone in phones)


def test_a_few_percent_are_messy_with_malformed_data() -> None:
    """Messy records are 2-7% and include malformed emails or phones."""
    messy = [p for p in SAMPLE if p.messy]
    assert 0.02 < len(messy) / len(SAMPLE) < 0.07
    clean_emails = [p.email for p in SAMPLE if not p.messy and p.email]
    assert all(email.count("@") == 1 and "." in email.split("@")[1] for email in clean_emails)
    assert any(p.email and (p.email.count("@") != 1 or " " in p.email) for p in messy)


def test_email_kinds_match_the_addresses() -> None:
    """Role addresses use generic local parts, free-mail ones known providers, 'none' has no address."""
    for p in SAMPLE:
        if p.messy:
            continue
        if p.email_kind == "none":
            assert p.email is None
        elif p.email_kind == "role_generic":
            assert p.email is not None and "." not in p.email.split("@")[0]


def test_generation_is_cheap() -> None:
    """A person costs well under a millisecond, so a million can be rendered on demand."""
    started = time.perf_counter()
    for index in range(2000):
        person(9, index)
    assert (time.perf_counter() - started) / 2000 < 0.0005
