"""HubSpot's subscription-change event re-decides its contact like any other edit. Pure."""

from __future__ import annotations

import json

from connector.webhooks.events import HubSpotRules, hubspot_intake
from crm_sandbox.hubspot.webhooks import SUBSCRIPTION_CHANGE

RULES = HubSpotRules(own_properties=frozenset({"email_allowed"}), app_id=1_160_452, portal_id=33)


def test_a_subscription_change_queues_its_contact_for_a_new_decision() -> None:
    """The event the sandbox sends when a status is set is queued, keyed by event and contact."""
    change = {"eventId": 7, "subscriptionType": SUBSCRIPTION_CHANGE, "objectId": 1006, "portalId": 33,
              "changeSource": "CRM_UI", "communicationSubscriptionId": 6125111, "channel": "EMAIL",
              "status": "UNSUBSCRIBED"}  # fmt: skip
    result = hubspot_intake(json.dumps([change]).encode(), RULES)
    assert [(e.dedupe_key, e.record_id, e.kind) for e in result.events] == [("7:1006", "1006", "change")]
    assert result.ignored == {}
