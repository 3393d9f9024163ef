"""What a verified delivery asks the worker to do: record ids to re-decide or forget. Pure: no I/O, no clock.

HubSpot sends a JSON array of up to 100 events; a Salesforce Outbound Message up to 100 notifications; the
signed Salesforce callout a JSON object with up to 200 events. Each becomes one or more queue entries with a
de-duplication key that is the same on every redelivery. Events that cannot change a decision are counted as
ignored, by reason: lawful-crm's own write-back properties and changes made by lawful-crm's own app or
integration user (no echo loops), objects the mapping does not cover, and event types that carry no contact.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from connector.mapping.consent_records import CONSENT_OBJECT, PARTY_OBJECT
from connector.store.queue import EventKind, NewEvent
from connector.webhooks.outbound import OutboundMessage

__all__ = [
    "HUBSPOT_MAX_EVENTS",
    "SIGNED_MAX_EVENTS",
    "HubSpotRules",
    "Intake",
    "MalformedPayload",
    "hubspot_intake",
    "outbound_intake",
    "signed_json_intake",
]

HUBSPOT_MAX_EVENTS = 100
SIGNED_MAX_EVENTS = 200
HUBSPOT_CONTACTS = "contacts"
_CONTACT_TYPE_ID = "0-1"
_HUBSPOT_CHANGES = {
    "creation",
    "propertyChange",
    "restore",
    "merge",
    "associationChange",
    "subscriptionChange",
}
"""Contact events that re-decide the contact (``subscriptionChange``: a communication subscription status was
set, which the contact's properties do not show)."""
_HUBSPOT_KINDS: dict[str, EventKind] = {"deletion": "delete", "privacyDeletion": "privacy_delete"}
_SIGNED_KINDS: dict[str, EventKind] = {
    "insert": "change",
    "update": "change",
    "undelete": "change",
    "delete": "delete",
}


class MalformedPayload(Exception):
    """The body is not a usable delivery (answer 400). ``reason`` is a code, never body content."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Intake:
    """The queue entries of one delivery, and how many of its events were ignored, by reason."""

    events: tuple[NewEvent, ...]
    received: int
    ignored: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class HubSpotRules:
    own_properties: frozenset[str]
    """The mapping's write-back properties: a change to one of them is lawful-crm's own echo."""
    app_id: int | None = None
    """lawful-crm's app: changes it made (``sourceId``) are echoes of its own writes."""
    portal_id: int | None = None
    """When set, events of any other HubSpot account are ignored."""


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (ValueError, UnicodeError, RecursionError):  # nesting too deep is malformed, not a server error
        raise MalformedPayload("invalid_json") from None


def _integer(value: Any) -> int:
    if isinstance(value, bool):
        raise MalformedPayload("bad_event")
    if isinstance(value, int) and value >= 0:
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 20:
        return int(value)
    raise MalformedPayload("bad_event")


def _contact_action(event: Mapping[str, Any]) -> str | None:
    """``creation``, ``propertyChange``, … for a contact event (classic or generic); None for other objects."""
    kind = event.get("subscriptionType") or event.get("eventType")
    if not isinstance(kind, str) or "." not in kind:
        raise MalformedPayload("bad_event")
    family, action = kind.split(".", 1)
    if family == "contact":
        return action
    if family == "object" and str(event.get("objectTypeId")) == _CONTACT_TYPE_ID:
        return action
    return None


def _made_by_app(event: Mapping[str, Any], app_id: int | None) -> bool:
    if app_id is None:
        return False
    source = str(event.get("sourceId") or "")
    return source in (str(app_id), f"appId:{app_id}")


def _ids_of(event: Mapping[str, Any], action: str) -> list[int]:
    ids = [_integer(event.get("objectId"))]
    if action == "merge":
        for key in ("primaryObjectId", "newObjectId"):
            if event.get(key) is not None:
                ids.append(_integer(event[key]))
        merged = event.get("mergedObjectIds") or []
        if not isinstance(merged, list):
            raise MalformedPayload("bad_event")
        ids.extend(_integer(value) for value in merged)
    return list(dict.fromkeys(ids))


def _hubspot_event(event: Any, rules: HubSpotRules, ignored: Counter[str]) -> list[NewEvent]:
    if not isinstance(event, dict):
        raise MalformedPayload("bad_event")
    event_id = _integer(event.get("eventId"))
    action = _contact_action(event)
    if action is None:
        ignored["other_object"] += 1
        return []
    portal = event.get("portalId")
    if rules.portal_id is not None and portal is not None and _integer(portal) != rules.portal_id:
        ignored["other_portal"] += 1
        return []
    kind = _HUBSPOT_KINDS.get(action)
    if kind is None:
        if action not in _HUBSPOT_CHANGES:
            ignored["unsupported_type"] += 1
            return []
        if action == "propertyChange" and event.get("propertyName") in rules.own_properties:
            ignored["own_property"] += 1
            return []
        if _made_by_app(event, rules.app_id):
            ignored["own_change"] += 1
            return []
        kind = "change"
    return [
        NewEvent(
            dedupe_key=f"{event_id}:{object_id}",
            object_type=HUBSPOT_CONTACTS,
            record_id=str(object_id),
            kind=kind,
        )
        for object_id in _ids_of(event, action)
    ]


def hubspot_intake(body: bytes, rules: HubSpotRules) -> Intake:
    """The queue entries of a HubSpot webhook batch; raise MalformedPayload when it is not one."""
    payload = _json(body)
    if not isinstance(payload, list):
        raise MalformedPayload("not_an_array")
    if len(payload) > HUBSPOT_MAX_EVENTS:
        raise MalformedPayload("too_many_events")
    ignored: Counter[str] = Counter()
    events = [entry for event in payload for entry in _hubspot_event(event, rules, ignored)]
    return Intake(tuple(events), received=len(payload), ignored=dict(ignored))


def _is_salesforce_id(value: Any) -> bool:
    return isinstance(value, str) and len(value) in (15, 18) and value.isascii() and value.isalnum()


def _event_key(value: Any) -> str:
    if (
        not isinstance(value, str)
        or not 1 <= len(value) <= 100
        or not value.isascii()
        or not value.isprintable()
    ):
        raise MalformedPayload("bad_event")
    return value


def _signed_event(event: Any, object_types: frozenset[str], ignored: Counter[str]) -> NewEvent | None:
    if not isinstance(event, dict):
        raise MalformedPayload("bad_event")
    key, sobject, record_id = _event_key(event.get("id")), event.get("sobject"), event.get("recordId")
    kind = _SIGNED_KINDS.get(str(event.get("change", "update")))
    if not isinstance(sobject, str) or not isinstance(record_id, str) or kind is None:
        raise MalformedPayload("bad_event")
    if not _is_salesforce_id(record_id):
        raise MalformedPayload("bad_event")
    if sobject not in object_types:
        ignored["unsupported_type"] += 1
        return None
    if sobject == CONSENT_OBJECT:  # any change to a consent row, its deletion too, re-decides its Individual
        party = event.get("partyId")
        if party is None:
            ignored["missing_party"] += 1
            return None
        if not _is_salesforce_id(party):
            raise MalformedPayload("bad_event")
        return NewEvent(dedupe_key=f"signed:{key}", object_type=PARTY_OBJECT, record_id=party, kind="change")
    return NewEvent(dedupe_key=f"signed:{key}", object_type=sobject, record_id=record_id, kind=kind)


def signed_json_intake(body: bytes, object_types: frozenset[str]) -> tuple[str | None, Intake]:
    """The org id a Salesforce callout names and its queue entries; raise MalformedPayload when malformed.

    Body: ``{"organizationId": "00D…", "events": [{"id", "sobject", "recordId", "change"}]}`` with ``change``
    one of insert, update, undelete, delete (docs/salesforce-signed-webhook.md); a ContactPointTypeConsent event
    also carries ``partyId``, the Individual whose records it re-decides.
    """
    payload = _json(body)
    if not isinstance(payload, dict) or not isinstance(payload.get("events"), list):
        raise MalformedPayload("not_an_object")
    organization_id = payload.get("organizationId")
    if organization_id is not None and not _is_salesforce_id(organization_id):
        raise MalformedPayload("bad_org_id")
    items = payload["events"]
    if len(items) > SIGNED_MAX_EVENTS:
        raise MalformedPayload("too_many_events")
    ignored: Counter[str] = Counter()
    events = [e for e in (_signed_event(item, object_types, ignored) for item in items) if e is not None]
    return organization_id, Intake(tuple(events), received=len(items), ignored=dict(ignored))


def outbound_intake(
    message: OutboundMessage, object_types: Iterable[str], *, integration_user: str | None = None
) -> Intake:
    """The queue entries of a parsed Outbound Message: one per notification of a mapped object, except the
    echoes of lawful-crm's own writes (``LastModifiedById`` is ``integration_user``), dropped before queueing.

    A consent record (``ContactPointTypeConsent``, allowed when the mapping reads them) asks to re-decide the
    records of its Individual: the entry names the ``PartyId`` as an Individual, which the worker reads as the
    contacts and leads pointing to it. Without ``PartyId`` the notification cannot say whom it concerns."""
    allowed = frozenset(object_types)
    ignored: Counter[str] = Counter()
    events = []
    for n in message.notifications:
        if n.sobject not in allowed:
            ignored["unsupported_type"] += 1
        elif _same_user(n.last_modified_by, integration_user):
            ignored["own_change"] += 1
        elif n.sobject == CONSENT_OBJECT:
            if n.party_id is None:
                ignored["missing_party"] += 1
            else:
                events.append(
                    NewEvent(dedupe_key=n.id, object_type=PARTY_OBJECT, record_id=n.party_id, kind="change")
                )
        else:
            events.append(
                NewEvent(dedupe_key=n.id, object_type=n.sobject, record_id=n.record_id, kind="change")
            )
    return Intake(tuple(events), received=len(message.notifications), ignored=dict(ignored))


def _same_user(modified_by: str | None, integration_user: str | None) -> bool:
    """Whether two user ids name the same user: the 18-character form only adds a case-checksum suffix."""
    if modified_by is None or integration_user is None:
        return False
    return modified_by[:15] == integration_user[:15]
