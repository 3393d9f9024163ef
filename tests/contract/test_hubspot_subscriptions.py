"""Communication preferences through the real hubspot-api-client against the HubSpot sandbox: the sandbox
answers as HubSpot does, and HubSpotCrm reads each page's statuses with one v4 batch read."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from hubspot import HubSpot
from hubspot.communication_preferences.exceptions import ApiException
from pydantic import SecretStr

from connector.crm.hubspot import HubSpotCrm
from connector.mapping.check import check_mapping
from connector.mapping.load import load_mapping
from connector.mapping.schema import SubscriptionType
from connector.mapping.subscriptions import STATUSES_FIELD
from connector.settings import HubSpotConfig
from crm_sandbox.hubspot import HubSpotSandbox, running_hubspot
from crm_sandbox.people import person

MAPPING = load_mapping("hubspot")
BATCH_READ = "POST /communication-preferences/v4/statuses/batch/read"
DEFINITIONS = "GET /communication-preferences/v3/definitions"
SEARCH = "POST /crm/v3/objects/contacts/search"
UNPLACED = "unplaced_subscription_type"
UNLIMITED: dict[str, Any] = {"per_ten_seconds": None, "search_per_second": None}

pytestmark = pytest.mark.usefixtures("no_retry_waits")


@contextmanager
def portal(contacts: int = 400) -> Iterator[HubSpotSandbox]:
    with running_hubspot(contacts=contacts, seed=11, **UNLIMITED) as hs:
        yield hs


def client(hs: HubSpotSandbox) -> HubSpot:
    return HubSpot(access_token=hs.token, host=hs.base_url)


def adapter(hs: HubSpotSandbox) -> HubSpotCrm:
    config = HubSpotConfig(base_url=hs.base_url, access_token=SecretStr(hs.token), per_ten_seconds=10_000,
                           search_per_second=1_000)  # fmt: skip
    return HubSpotCrm.from_config(config, MAPPING)


def batch_read(hs: HubSpotSandbox, body: Any, channel: str = "EMAIL") -> tuple[int, dict[str, Any]]:
    """The v4 batch read as the SDK's generic call sends it (12.0.0 wraps only v3)."""
    api = client(hs).communication_preferences.definition_api.api_client
    try:
        response = api.call_api(
            "/communication-preferences/v4/statuses/batch/read", "POST", query_params=[("channel", channel)],
            header_params={"Content-Type": "application/json", "Accept": "application/json"}, body=body,
            auth_settings=["oauth2"], _preload_content=False,
        )  # fmt: skip
    except ApiException as exc:
        return exc.status, json.loads(exc.body)
    return response.status, json.loads(response.data)


def addresses(hs: HubSpotSandbox, count: int) -> list[str]:
    found = (hs.state.store.properties(i).get("email") for i in range(hs.state.store.total))
    return [e for e in found if e and "@" in e and "." in e.split("@")[1]][:count]


def test_the_sdk_reads_the_definitions_and_a_batch_of_statuses() -> None:
    """v3 definitions through the SDK's model; v4 statuses with every documented field."""
    with portal() as hs:
        page = client(hs).communication_preferences.definition_api.get_page()
        names = {d.name for d in page.subscription_definitions}
        assert {"Marketing Information", "One to One"} <= names
        status, body = batch_read(hs, {"inputs": addresses(hs, 50)})
        assert status == 200 and len(body["results"]) == 50
        statuses = [s for r in body["results"] for s in r["statuses"]]
        assert {s["status"] for s in statuses} == {"SUBSCRIBED", "UNSUBSCRIBED", "NOT_SPECIFIED"}
        assert {"CONSENT_WITH_NOTICE", "LEGITIMATE_INTEREST_CLIENT"} <= {
            s.get("legalBasis") for s in statuses
        }
        assert all({"subscriptionId", "timestamp", "channel", "source"} <= set(s) for s in statuses)


def test_the_batch_read_refuses_what_hubspot_refuses() -> None:
    """400 for another channel, an unknown key, too many inputs or a repeated one; 207 with per-input errors
    for an address that is malformed or that no contact has, the others answered."""
    with portal() as hs:
        good = addresses(hs, 2)
        assert batch_read(hs, {"inputs": good}, channel="SMS")[0] == 400
        assert batch_read(hs, {"inputs": good, "properties": []})[0] == 400
        assert batch_read(hs, {"inputs": [f"a{i}@example.org" for i in range(1001)]})[0] == 400
        assert batch_read(hs, {"inputs": [good[0], good[0].upper()]})[0] == 400
        status, body = batch_read(hs, {"inputs": [*good, "not-an-address", "nobody@example.org"]})
        assert status == 207 and len(body["results"]) == 2 and body["numErrors"] == 2
        assert {e["category"] for e in body["errors"]} == {"VALIDATION_ERROR", "OBJECT_NOT_FOUND"}


def test_a_full_pull_reads_statuses_with_one_batch_read_per_page() -> None:
    """The definitions once, one status read per search page, and each contact with its address's statuses."""
    with portal(contacts=1000) as hs:
        crm = adapter(hs)
        records = [r for page in crm.pull("contacts", since=None) for r in page.records]
        calls = hs.state.calls
        assert calls[DEFINITIONS] == 1 and calls[BATCH_READ] == calls[SEARCH] == 5
        with_address = [r for r in records if "@" in str(r.fields.get("email") or "")]
        held = [r for r in with_address if r.fields[STATUSES_FIELD]]
        assert len(held) >= 0.9 * len(with_address)
        assert all(len(r.fields[STATUSES_FIELD]) == 4 for r in held)


def test_a_read_by_id_carries_a_status_set_a_moment_ago() -> None:
    """A status written through v4 is what the next read by id gives, dated by its timestamp."""
    with portal() as hs:
        crm = adapter(hs)
        contact = crm.read("contacts", ["1002"])[0]
        email = str(contact.fields["email"])
        api = client(hs).communication_preferences.definition_api.api_client
        api.call_api(
            f"/communication-preferences/v4/statuses/{email}", "POST", query_params=[("channel", "EMAIL")],
            header_params={"Content-Type": "application/json"}, auth_settings=["oauth2"], _preload_content=False,
            body={"channel": "EMAIL", "statusState": "UNSUBSCRIBED", "subscriptionId": 6125112},
        )  # fmt: skip
        again = crm.read("contacts", ["1002"])[0]
        news = [s for s in again.fields[STATUSES_FIELD] if s.name == "Product News"]
        assert [(s.status, s.at) for s in news] == [("UNSUBSCRIBED", hs.state.clock.now().date())]
        stored = hs.state.record("1002")
        assert stored is not None and stored["properties"]["hs_email_optout_6125112"] == "true"
        assert again.modified > contact.modified  # the change moved the contact, so incremental pulls see it


def test_mappings_check_names_the_subscription_types_the_mapping_does_not_place() -> None:
    """The default mapping places every type of the portal; one that drops a type gets it named, by id too."""
    with portal() as hs:
        crm = adapter(hs)
        crm.install(dry_run=False, uninstall=False)
        described = {"contacts": crm.describe("contacts")}
        assert not [p for p in check_mapping(MAPPING, described, crm.value_counts) if p.kind == UNPLACED]
        fewer = {k: v for k, v in MAPPING.subscriptions.items() if k != "Product News"}
        partial = MAPPING.model_copy(update={"subscriptions": fewer})
        problems = [p for p in check_mapping(partial, described, crm.value_counts) if p.kind == UNPLACED]
        assert [p.detail for p in problems] == [
            "subscription type 'Product News' (id 6125112) is not placed in subscriptions"
        ]
        by_id = MAPPING.model_copy(
            update={"subscriptions": fewer | {"6125112": SubscriptionType(channel="none")}}
        )
        assert not [p for p in check_mapping(by_id, described, crm.value_counts) if p.kind == UNPLACED]


def test_the_v3_status_read_agrees_with_v4_and_the_portal_wide_opt_out() -> None:
    """An opted-in address is SUBSCRIBED to marketing in v3 too; unsubscribed from all, every type is not."""
    with portal() as hs:
        sdk = client(hs).communication_preferences.status_api
        seed = hs.state.store.seed
        opted_in = next(p for i in range(400) if (p := person(seed, i)).email_consent and not p.optout_email
                        and not p.messy and p.email)  # fmt: skip
        left = next(p for i in range(400) if (p := person(seed, i)).optout_email and not p.messy and p.email)
        v3 = {s.name: s for s in sdk.get_email_status(email_address=opted_in.email).subscription_statuses}
        assert v3["Marketing Information"].status == "SUBSCRIBED"
        assert v3["Marketing Information"].legal_basis == "CONSENT_WITH_NOTICE"
        wide = sdk.get_email_status(email_address=left.email).subscription_statuses
        assert {(s.status, s.source_of_status) for s in wide} == {("NOT_SUBSCRIBED", "PORTAL_WIDE_STATUS")}


def test_a_user_sets_a_status_through_the_admin_route_as_of_a_given_time() -> None:
    """``POST /__sandbox/subscriptions/statuses`` sets a dated status; a type the account lacks is a 404."""
    with portal() as hs:
        (email,) = addresses(hs, 1)
        route = f"{hs.base_url}/__sandbox/subscriptions/statuses"
        body = {"email": email, "subscriptionId": 6125111, "statusState": "SUBSCRIBED",
                "legalBasis": "CONSENT_WITH_NOTICE", "timestamp": "2026-01-05T10:00:00Z"}  # fmt: skip
        assert httpx.post(route, json=body).status_code == 200
        assert httpx.post(route, json=body | {"subscriptionId": 1}).status_code == 404
        status, answer = batch_read(hs, {"inputs": [email]})
        assert status == 200
        marketing = next(s for s in answer["results"][0]["statuses"] if s["subscriptionId"] == 6125111)
        assert (marketing["status"], marketing["legalBasis"]) == ("SUBSCRIBED", "CONSENT_WITH_NOTICE")
        assert marketing["timestamp"].startswith("2026-01-05T10:00:00")
