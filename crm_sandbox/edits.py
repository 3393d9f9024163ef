"""Edits as salespeople make them, for the demo, benchmarks and policy rehearsals.

A mix that moves flags both ways: phone opt-outs, e-mail opt-outs or objections, renewed consents from a web
form, and a purchased-list source. Each edit changes the record as a user would (its modification time moves,
and on HubSpot the change source is the CRM UI).
"""

from __future__ import annotations

import random
from datetime import date
from typing import Any

from crm_sandbox.hubspot.state import HubSpotState
from crm_sandbox.salesforce.ids import make_id
from crm_sandbox.salesforce.seed import SALES_USER_ID
from crm_sandbox.salesforce.state import SalesforceState

__all__ = ["hubspot_user_edits", "salesforce_user_edits"]


def salesforce_user_edits(state: SalesforceState, count: int, *, seed: int, today: date) -> list[str]:
    """Edit ``count`` random contacts; return their ids."""
    store = state.store
    spec = store.spec("contact")
    assert spec is not None
    indexes = random.Random(seed).sample(list(store.indexes("contact")), count)
    edits: list[dict[str, Any]] = [
        {"DoNotCall": True},
        {"HasOptedOutOfEmail": True},
        {"Email_Opt_In_Date__c": today.isoformat(), "LeadSource": "Web"},
        {"LeadSource": "Purchased List"},
    ]
    for n, index in enumerate(indexes):
        store.update(spec.name, index, edits[n % len(edits)], by=SALES_USER_ID)
    return [make_id(spec.key_prefix, index) for index in indexes]


def hubspot_user_edits(state: HubSpotState, count: int, *, seed: int, today: date) -> list[str]:
    """Edit ``count`` random contacts in the HubSpot UI; return their ids."""
    ids = [state.store.contact_id(i) for i in random.Random(seed).sample(range(state.store.total), count)]
    edits: list[dict[str, Any]] = [
        {"phone_optout_date": today.isoformat()},
        {"objection_date": today.isoformat()},
        {"email_consent_date": today.isoformat(), "lead_source": "web_form_optin"},
        {"lead_source": "purchased_list"},
    ]
    for n, contact_id in enumerate(ids):
        state.ui_update(contact_id, dict(edits[n % len(edits)]))
    return ids
