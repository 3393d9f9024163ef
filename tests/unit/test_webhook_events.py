"""What each delivery puts in the queue: kinds, de-duplication keys, and the events that are ignored."""

from __future__ import annotations

import json
from typing import Any

import pytest

from connector.store.queue import NewEvent
from connector.webhooks.events import (
    HubSpotRules,
    MalformedPayload,
    hubspot_intake,
    outbound_intake,
    signed_json_intake,
)
from connector.webhooks.outbound import Notification, OutboundMessage

APP_ID = 1_160_452
RULES = HubSpotRules(
    own_properties=frozenset({"email_allowed", "lawful_use_checked"}), app_id=APP_ID, portal_id=33
)


def event(kind: str, object_id: int = 151, event_id: int = 9, **extra: Any) -> dict[str, Any]:
    return {"eventId": event_id, "subscriptionType": kind, "objectId": object_id, "portalId": 33, **extra}


def intake(*events: Any) -> tuple[list[tuple[str, str, str]], dict[str, int]]:
    result = hubspot_intake(json.dumps(list(events)).encode(), RULES)
    return [(e.dedupe_key, e.record_id, e.kind) for e in result.events], dict(result.ignored)


def test_creation_property_change_restore_and_association_change_ask_for_a_new_decision() -> None:
    queued, ignored = intake(
        event("contact.creation", event_id=1),
        event("contact.propertyChange", event_id=2, propertyName="lifecyclestage", changeSource="CRM_UI"),
        event("contact.restore", event_id=3),
        event("contact.associationChange", event_id=4),
    )
    assert queued == [("1:151", "151", "change"), ("2:151", "151", "change"), ("3:151", "151", "change"),
                      ("4:151", "151", "change")]  # fmt: skip
    assert ignored == {}


def test_deletion_and_privacy_deletion_ask_to_forget_even_when_our_app_made_them() -> None:
    queued, _ = intake(
        event("contact.deletion", event_id=5, sourceId=str(APP_ID)),
        event("contact.privacyDeletion", event_id=6, changeSource="GDPR"),
    )
    assert queued == [("5:151", "151", "delete"), ("6:151", "151", "privacy_delete")]


def test_a_merge_re_decides_the_surviving_record_and_checks_the_merged_ones() -> None:
    queued, _ = intake(event("contact.merge", object_id=151, primaryObjectId=151, mergedObjectIds=[152, 153]))
    assert queued == [("9:151", "151", "change"), ("9:152", "152", "change"), ("9:153", "153", "change")]


def test_echoes_of_our_own_writes_are_ignored() -> None:
    """Our write-back properties, and any change our own app made, never come back as work (no loops)."""
    queued, ignored = intake(
        event("contact.propertyChange", event_id=1, propertyName="email_allowed", changeSource="CRM_UI"),
        event(
            "contact.propertyChange",
            event_id=2,
            propertyName="phone",
            changeSource="INTEGRATION",
            sourceId=str(APP_ID),
        ),
        event(
            "contact.propertyChange",
            event_id=3,
            propertyName="phone",
            changeSource="INTEGRATION",
            sourceId="999",
        ),
    )
    assert queued == [("3:151", "151", "change")]
    assert ignored == {"own_property": 1, "own_change": 1}


def test_other_objects_other_portals_and_unknown_types_are_ignored_and_counted() -> None:
    queued, ignored = intake(
        event("company.propertyChange", event_id=1),
        event("deal.creation", event_id=2),
        {**event("contact.creation", event_id=3), "portalId": 44},
        event("contact.someFutureThing", event_id=4),
        {"eventId": 5, "eventType": "object.creation", "objectTypeId": "0-1", "objectId": 77},
        {"eventId": 6, "subscriptionType": "object.creation", "objectTypeId": "0-2", "objectId": 78},
    )
    assert queued == [("5:77", "77", "change")]
    assert ignored == {"other_object": 3, "other_portal": 1, "unsupported_type": 1}


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"{not json", "invalid_json"),
        (b"\xff\xfe", "invalid_json"),
        (b"[" * 100_000 + b"]" * 100_000, "invalid_json"),  # nested too deep: malformed, not a 500
        (b'{"eventId": 1}', "not_an_array"),
        (json.dumps([event("contact.creation", event_id=i) for i in range(101)]).encode(), "too_many_events"),
        (b"[1]", "bad_event"),
        (json.dumps([{"subscriptionType": "contact.creation", "objectId": 1}]).encode(), "bad_event"),
        (json.dumps([event("contact.creation", object_id=-4)]).encode(), "bad_event"),
        (json.dumps([event("contact.creation", object_id=True)]).encode(), "bad_event"),
        (json.dumps([{"eventId": 1, "subscriptionType": "nodot", "objectId": 1}]).encode(), "bad_event"),
    ],
)
def test_malformed_hubspot_batches_are_refused_as_a_whole(body: bytes, expected: str) -> None:
    with pytest.raises(MalformedPayload) as caught:
        hubspot_intake(body, RULES)
    assert caught.value.reason == expected


def test_the_signed_salesforce_callout_maps_changes_and_deletions() -> None:
    body = json.dumps(
        {
            "organizationId": "00D7F00000107XsUAI",
            "events": [
                {
                    "id": "0037F00000AbCdEQAZ:1790000000000",
                    "sobject": "Contact",
                    "recordId": "0037F00000AbCdEQAZ",
                    "change": "update",
                },
                {"id": "k2", "sobject": "Lead", "recordId": "00Q7F00000XyZaBQAZ", "change": "delete"},
                {"id": "k3", "sobject": "Account", "recordId": "0017F00000XyZaBQAZ", "change": "update"},
            ],
        }
    ).encode()
    org, result = signed_json_intake(body, frozenset({"Contact", "Lead"}))
    assert org == "00D7F00000107XsUAI"
    assert result.events == (
        NewEvent("signed:0037F00000AbCdEQAZ:1790000000000", "Contact", "0037F00000AbCdEQAZ", "change"),
        NewEvent("signed:k2", "Lead", "00Q7F00000XyZaBQAZ", "delete"),
    )
    assert result.ignored == {"unsupported_type": 1}


@pytest.mark.parametrize(
    "payload",
    [
        [],
        {"events": "x"},
        {"events": [{"id": "", "sobject": "Contact", "recordId": "0037F00000AbCdEQAZ"}]},
        {"events": [{"id": "k", "sobject": "Contact", "recordId": "not-an-id"}]},
        {
            "events": [
                {"id": "k", "sobject": "Contact", "recordId": "0037F00000AbCdEQAZ", "change": "explode"}
            ]
        },
        {"organizationId": "nope", "events": []},
        {
            "events": [
                {"id": f"k{i}", "sobject": "Contact", "recordId": "0037F00000AbCdEQAZ"} for i in range(201)
            ]
        },
    ],
)
def test_malformed_signed_callouts_are_refused(payload: Any) -> None:
    with pytest.raises(MalformedPayload):
        signed_json_intake(json.dumps(payload).encode(), frozenset({"Contact"}))


def test_outbound_notifications_of_unmapped_objects_are_ignored() -> None:
    message = OutboundMessage(
        "00D7F00000107XsUAI",
        (
            Notification("04l000000000001AAA", "Contact", "0037F00000AbCdEQAZ"),
            Notification("04l000000000002AAA", "Opportunity", "0067F00000AbCdEQAZ"),
        ),
    )
    result = outbound_intake(message, {"Contact", "Lead"})
    assert result.events == (NewEvent("04l000000000001AAA", "Contact", "0037F00000AbCdEQAZ", "change"),)
    assert (result.received, result.ignored) == (2, {"unsupported_type": 1})
