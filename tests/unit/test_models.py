"""The canonical models reject bad input with clear errors and round-trip through JSON."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest
from pydantic import ValidationError

from connector.models import ContactFacts, Decision, EntityType
from connector.policy import PolicySettings, evaluate
from tests.conftest import NOW, facts


def test_minimal_contact_takes_the_documented_defaults() -> None:
    """Only the id is required; everything else has the canonical default."""
    c = ContactFacts.model_validate({"id": "x"})
    assert c.country is None and c.entity_type is EntityType.UNKNOWN
    assert c.email.kind.value == "none" and c.call_target.value == "company_line_named"
    assert c.sources == () and c.consents == () and c.customer is None


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("entity_type", "robot"),
        ("call_target", "carrier_pigeon"),
        ("sources", [{"kind": "telepathy"}]),
        ("email", {"kind": "fax"}),
        ("dnc", [{"list": "XX_LIST", "listed": True, "checked": "2026-01-01"}]),
    ],
)
def test_unknown_enum_values_are_rejected(field: str, value: object) -> None:
    """An enum value outside the contract is a validation error naming the field."""
    with pytest.raises(ValidationError) as err:
        ContactFacts.model_validate({"id": "x", field: value})
    assert field in str(err.value)


@pytest.mark.parametrize(
    "value", ["2026-13-01", "28-11-2026", "2026-11-28T10:00:00", 1700000000, "yesterday"]
)
def test_malformed_dates_are_rejected(value: object) -> None:
    """Dates are ISO YYYY-MM-DD strings only: no timestamps, numbers or other formats."""
    with pytest.raises(ValidationError):
        ContactFacts.model_validate({"id": "x", "objection": value})


def test_unknown_fields_are_rejected_rather_than_ignored() -> None:
    """A misspelt field (here 'objected') would silently drop a restriction, so it is an error."""
    with pytest.raises(ValidationError, match="objected"):
        ContactFacts.model_validate({"id": "x", "objected": "2026-01-01"})


def test_country_codes_are_normalised_and_checked() -> None:
    """Lower case is accepted, UK means GB, and anything else than two letters is rejected."""
    assert facts(country="nl").country == "NL"
    assert facts(country="UK").country == "GB"
    with pytest.raises(ValidationError):
        facts(country="Netherlands")


def test_models_are_frozen() -> None:
    """Facts cannot be changed after construction: a Decision always describes the facts it saw."""
    c = facts()
    with pytest.raises(ValidationError):
        c.country = "DE"  # type: ignore[misc]


def test_a_decision_round_trips_through_json_and_validates() -> None:
    """The fast-built Decision serialises to JSON that the validating model reads back as an equal value."""
    decision = evaluate(facts(objection="2026-01-01"), now=NOW, settings=PolicySettings())
    again = Decision.model_validate_json(decision.model_dump_json())
    assert again == decision
    assert again.reasons[0].rule == "G1"


def test_consent_needs_a_channel_and_a_date() -> None:
    """A consent without its date cannot be shown, so it is rejected."""
    with pytest.raises(ValidationError, match="date"):
        facts(consents=[{"channel": "email"}])
    assert facts(consents=[{"channel": "email", "date": date(2026, 1, 1)}]).consents[0].date == date(
        2026, 1, 1
    )


@pytest.mark.parametrize("value", ["yes", "true", 0, 1, "0", None])
@pytest.mark.parametrize(
    ("field", "make"),
    [
        ("published_for_offers", lambda v: {"email": {"kind": "role_generic", "published_for_offers": v}}),
        ("specific", lambda v: {"consents": [{"channel": "email", "date": "2026-01-01", "specific": v}]}),
        ("paid", lambda v: {"customer": {"paid": v}}),
        ("listed", lambda v: {"dnc": [{"list": "OWN", "listed": v, "checked": "2026-11-01"}]}),
    ],
)
def test_booleans_are_json_booleans_only(field: str, make: Any, value: object) -> None:
    """ "yes" or 0 is not read as a boolean: a guess could open a channel the data does not support."""
    with pytest.raises(ValidationError, match=field):
        ContactFacts.model_validate({"id": "x", **make(value)})
    assert ContactFacts.model_validate_json(json.dumps({"id": "x", **make(True)}))


@pytest.mark.parametrize(
    "record_id", ["", "   ", "\t", "003\n", "003\x00A", "003\u2028", "003\u202eA", "003\ud800"]
)
def test_ids_must_be_printable_and_not_blank(record_id: str) -> None:
    """A blank id matches no record; control, format and separator characters break lines or hide text."""
    with pytest.raises(ValidationError, match="id"):
        ContactFacts.model_validate({"id": record_id})


def test_ordinary_ids_are_kept_as_given() -> None:
    for record_id in ("003Sb00000000FDIAY", "1296", "lead 7", "Müller-1"):
        assert ContactFacts.model_validate({"id": record_id}).id == record_id
