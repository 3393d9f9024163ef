"""Salesforce consent records (ContactPointTypeConsent rows) read under a purposes table. Pure."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from connector.mapping.consent_records import RECORDS_FIELD, ConsentRecord, State, read_consent_records
from connector.mapping.facts import CompiledMapping, facts_from_record
from connector.mapping.load import load_mapping
from connector.models import Consent, ContactFacts
from connector.policy import PolicySettings, evaluate
from tests.conftest import NOW

PURPOSES: dict[str, Any] = {
    "Email Marketing": ["email"],
    "Telemarketing": ["phone"],
    "Marketing": ["email", "phone"],
    "Service Updates": [],
}
FALLBACK = date(2020, 1, 1)


def lookup(table: Any, key: str) -> Any:
    return table.get(key)


def row(
    status: str,
    captured: date | None,
    *,
    channel: str = "email",
    purpose: str | None = "Email Marketing",
    state: State = "in_effect",
    start: date | None = None,
    end: date | None = None,
) -> ConsentRecord:
    return ConsentRecord(channel, status, purpose, captured, start, end, state)


def read(*rows: ConsentRecord) -> Any:
    return read_consent_records(rows, PURPOSES, lookup=lookup, fallback=FALLBACK)


def test_an_opt_in_is_a_specific_consent_of_ours_dated_by_its_capture_never_before_its_start() -> None:
    reading = read(row("OptIn", date(2024, 3, 1), start=date(2024, 2, 1)))
    assert reading.consents == (Consent(channel="email", date=date(2024, 3, 1)),)
    assert reading.optout_email is None
    later = read(row("OptIn", date(2024, 3, 1), start=date(2024, 3, 2)))
    assert later.consents == (Consent(channel="email", date=date(2024, 3, 2)),)


def test_without_a_capture_date_the_start_dates_it() -> None:
    assert read(row("OptIn", None, start=date(2024, 3, 2))).consents[0].date == date(2024, 3, 2)


def test_an_opt_out_is_an_opt_out_on_its_channel() -> None:
    reading = read(row("OptOut", date(2024, 3, 1), channel="phone", purpose="Telemarketing"))
    assert reading.optout_phone == date(2024, 3, 1) and reading.optout_email is None
    assert reading.consents == ()


def test_conflicting_rows_of_one_purpose_resolve_to_the_least_permissive() -> None:
    reading = read(row("OptOut", date(2023, 1, 1)), row("OptIn", date(2024, 6, 1)))
    assert reading.consents == (), "the OptIn of the same purpose does not count"
    assert reading.optout_email == date(2024, 6, 1), "the opt-out is dated so that no row outranks it"


def test_a_later_opt_in_for_another_purpose_stays_a_consent() -> None:
    reading = read(row("OptOut", date(2023, 1, 1)), row("OptIn", date(2024, 6, 1), purpose="Marketing"))
    assert reading.optout_email == date(2023, 1, 1)
    assert reading.consents == (Consent(channel="email", date=date(2024, 6, 1)),)


def test_an_opt_in_carries_its_end_and_an_ended_opt_out_says_nothing() -> None:
    ended = read(
        row("OptIn", date(2022, 1, 1), state="ended", end=date(2023, 1, 1)),
        row("OptOut", date(2021, 1, 1), channel="phone", purpose="Telemarketing", state="ended"),
    )
    assert ended.consents == (Consent(channel="email", date=date(2022, 1, 1), ends=date(2023, 1, 1)),)
    assert ended.optout_phone is None
    ahead = read(row("OptIn", date(2022, 1, 1), end=date(2031, 1, 1)))
    assert ahead.consents == (Consent(channel="email", date=date(2022, 1, 1), ends=date(2031, 1, 1)),), (
        "an end still ahead is kept in the facts, so the decision expires on it"
    )


def test_an_ended_opt_out_does_not_close_a_live_opt_in_of_the_same_purpose() -> None:
    reading = read(row("OptOut", date(2022, 1, 1), state="ended"), row("OptIn", date(2021, 1, 1)))
    assert reading.optout_email is None
    assert reading.consents == (Consent(channel="email", date=date(2021, 1, 1)),)


def test_an_opt_in_ahead_of_its_start_counts_from_that_start() -> None:
    reading = read(row("OptIn", date(2024, 1, 1), state="ahead", start=date(2030, 1, 1)))
    assert reading.consents == (Consent(channel="email", date=date(2030, 1, 1)),)
    assert read(row("OptOut", date(2024, 1, 1), state="ahead")).optout_email == date(2024, 1, 1), (
        "an opt-out that starts later closes the channel at once"
    )


def test_rows_the_table_does_not_place_on_their_channel_say_nothing() -> None:
    reading = read(
        row("OptIn", date(2024, 1, 1), purpose="Service Updates"),
        row("OptOut", date(2024, 1, 1), purpose="Partner Offers"),
        row("OptIn", date(2024, 1, 1), channel="phone", purpose="Email Marketing"),
        row("OptIn", date(2024, 1, 1), channel="mailingaddress", purpose="Marketing"),
        row("Seen", date(2024, 1, 1)),
        row("NotSeen", date(2024, 1, 1)),
    )
    assert reading == type(reading)()


def test_a_row_without_a_purpose_closes_by_opt_out_but_opens_nothing() -> None:
    closed = read(row("OptOut", date(2024, 1, 1), purpose=None))
    assert closed.optout_email == date(2024, 1, 1)
    vague = read(row("OptIn", date(2024, 1, 1), purpose=None))
    assert vague.consents == (Consent(channel="email", date=date(2024, 1, 1), specific=False),)


# -- through the default Salesforce mapping ------------------------------------------------------------------
SALESFORCE = CompiledMapping(load_mapping("salesforce"))


def contact_facts(*rows: ConsentRecord, **fields: Any) -> ContactFacts:
    """A consumer in NL from our web form (no opt-in date field) with the given consent rows."""
    base: dict[str, Any] = {
        "Email": "sanne@example.nl", "MailingCountry": "Netherlands", "LeadSource": "Web",
        "HasOptedOutOfEmail": False, "DoNotCall": False, RECORDS_FIELD: rows,
    }  # fmt: skip
    return facts_from_record(SALESFORCE, "Contact", "003A", base | fields, modified=date(2023, 5, 1))


def test_the_default_mapping_reads_an_opt_in_row_as_the_only_consent_and_the_policy_allows_e_mail() -> None:
    facts = contact_facts(row("OptIn", NOW - timedelta(days=30)))
    assert facts.consents == (Consent(channel="email", date=NOW - timedelta(days=30)),)
    assert evaluate(facts, now=NOW, settings=PolicySettings()).email_allowed is True
    assert evaluate(contact_facts(), now=NOW, settings=PolicySettings()).email_allowed is False


def test_a_ticked_opt_out_checkbox_still_outranks_a_consent_row() -> None:
    facts = contact_facts(row("OptIn", NOW - timedelta(days=30)), HasOptedOutOfEmail=True)
    assert facts.optout_email is not None and facts.optout_email >= NOW - timedelta(days=30)
    assert evaluate(facts, now=NOW, settings=PolicySettings()).email_allowed is False


def test_without_a_purposes_table_the_rows_say_nothing() -> None:
    bare = CompiledMapping(SALESFORCE.mapping.model_copy(update={"data_use_purposes": {}}))
    fields = {"Email": "sanne@example.nl", RECORDS_FIELD: (row("OptOut", date(2024, 1, 1)),)}
    assert facts_from_record(bare, "Contact", "003A", fields, modified=date(2023, 5, 1)).optout_email is None
