"""An Outbound Message on ContactPointTypeConsent asks to re-decide the records of the row's Individual."""

from __future__ import annotations

import json

import pytest

from connector.mapping.load import load_mapping
from connector.webhooks.config import salesforce_object_types
from connector.webhooks.events import MalformedPayload, outbound_intake, signed_json_intake
from connector.webhooks.outbound import MalformedMessage, parse_outbound_message
from crm_sandbox.salesforce.outbound import envelope

PARTY = "0PK7F00000AbCdEQAZ"
CONSENT_ROW = "0ZY7F00000AbCdEQAZ"
SALESPERSON, INTEGRATION = "0057F000001aBcDQAU", "0057F000009zZzZQAU"
MAPPED = salesforce_object_types(load_mapping("salesforce"))


def consent_message(*, party: str | None = PARTY, by: str = SALESPERSON) -> bytes:
    record = {"Id": CONSENT_ROW, "PrivacyConsentStatus": "OptOut", "LastModifiedById": by}
    if party is not None:
        record["PartyId"] = party
    return envelope([("ContactPointTypeConsent", record)], ["04l000000000001AAA"]).encode()


def test_the_default_mapping_listens_to_consent_rows_and_one_without_purposes_does_not() -> None:
    assert {"Contact", "Lead", "ContactPointTypeConsent"} == MAPPED
    bare = load_mapping("salesforce").model_copy(update={"data_use_purposes": {}})
    assert salesforce_object_types(bare) == {"Contact", "Lead"}


def test_a_consent_row_becomes_an_event_for_its_individual() -> None:
    parsed = parse_outbound_message(consent_message())
    [notification] = parsed.notifications
    assert (notification.sobject, notification.party_id) == ("ContactPointTypeConsent", PARTY)
    intake = outbound_intake(parsed, MAPPED, integration_user=INTEGRATION)
    [event] = intake.events
    assert (event.object_type, event.record_id, event.dedupe_key) == ("Individual", PARTY, notification.id)


def test_a_consent_row_without_its_party_or_by_lawful_crm_or_unmapped_is_ignored() -> None:
    no_party = outbound_intake(parse_outbound_message(consent_message(party=None)), MAPPED)
    assert no_party.events == () and no_party.ignored == {"missing_party": 1}
    own = outbound_intake(
        parse_outbound_message(consent_message(by=INTEGRATION)), MAPPED, integration_user=INTEGRATION
    )
    assert own.events == () and own.ignored == {"own_change": 1}
    unmapped = outbound_intake(parse_outbound_message(consent_message()), {"Contact", "Lead"})
    assert unmapped.events == () and unmapped.ignored == {"unsupported_type": 1}


def test_a_party_id_that_is_not_an_id_makes_the_message_malformed() -> None:
    body = consent_message().replace(PARTY.encode(), b"0PK'; DROP")
    with pytest.raises(MalformedMessage) as refused:
        parse_outbound_message(body)
    assert refused.value.reason == "bad_id"


def signed(*events: dict[str, object]) -> bytes:
    return json.dumps({"organizationId": "00D7F00000107XsUAI", "events": list(events)}).encode()


def test_a_signed_consent_row_event_names_its_individual_even_for_a_deletion() -> None:
    deleted = {"id": "k1", "sobject": "ContactPointTypeConsent", "recordId": CONSENT_ROW, "change": "delete",
               "partyId": PARTY}  # fmt: skip
    _, intake = signed_json_intake(signed(deleted), MAPPED)
    [event] = intake.events
    assert (event.object_type, event.record_id, event.kind) == ("Individual", PARTY, "change")
    _, without = signed_json_intake(signed({**deleted, "partyId": None}), MAPPED)
    assert without.events == () and without.ignored == {"missing_party": 1}
    with pytest.raises(MalformedPayload):
        signed_json_intake(signed({**deleted, "partyId": "0PK'; DROP"}), MAPPED)
