"""The real hubspot-api-client 12.0.0 against the HubSpot sandbox over real HTTP on 127.0.0.1."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import urllib3
from hubspot import HubSpot
from hubspot.utils.signature import Signature
from urllib3.util.retry import Retry

from crm_sandbox.hubspot import HubSpotSandbox, running_hubspot
from crm_sandbox.hubspot.properties import COMPANY_TYPES, LEGAL_BASIS

CONTACTS = 12_000
NO_RETRY = Retry(total=0, status=0, respect_retry_after_header=False, raise_on_status=False)


class Receiver:
    """A tiny webhook receiver: records every POST (headers and body); answers ``status``."""

    def __init__(self) -> None:
        self.received: list[tuple[Message, bytes]] = []
        self.status = 204
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                outer.received.append((self.headers, body))
                self.send_response(outer.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/hubspot"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def events(self) -> list[dict[str, Any]]:
        """Every event received so far, flattened across batches."""
        return [event for _, body in self.received for event in json.loads(body)]


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    """A webhook receiver for the module's sandbox."""
    rec = Receiver()
    yield rec
    rec.server.shutdown()
    rec.server.server_close()


@pytest.fixture(scope="module")
def hs(receiver: Receiver) -> Iterator[HubSpotSandbox]:
    """One seeded sandbox for the module, with limits lifted so tests are not throttled."""
    with running_hubspot(
        contacts=CONTACTS,
        seed=7,
        webhook_url=receiver.url,
        per_ten_seconds=None,
        search_per_second=None,
        webhook_retry_delay=0.05,
    ) as sandbox:
        yield sandbox


@pytest.fixture(scope="module")
def client(hs: HubSpotSandbox) -> HubSpot:
    """The real SDK pointed at the sandbox, with urllib3 retries off."""
    return HubSpot(access_token=hs.token, host=hs.base_url, retry=NO_RETRY)


def assert_complete(model: Any) -> None:
    """Re-build every SDK model in the tree with client-side validation on: a required field left None raises."""
    if isinstance(model, list):
        for item in model:
            assert_complete(item)
        return
    if isinstance(model, dict):
        for item in model.values():
            assert_complete(item)
        return
    if not hasattr(model, "openapi_types"):
        return
    config = type(model.local_vars_configuration)()
    config.client_side_validation = True
    values = {attr: getattr(model, attr) for attr in model.openapi_types}
    type(model)(**values, local_vars_configuration=config)
    for value in values.values():
        assert_complete(value)


def test_listing_pages_through_every_contact_with_associations(client: HubSpot) -> None:
    """Paging the contact list with `after` returns every seeded contact exactly once, then no paging."""
    api = client.crm.contacts.basic_api
    seen: list[str] = []
    after = None
    while True:
        page = api.get_page(
            limit=100, after=after, properties=["email", "hs_legal_basis"], associations=["companies"]
        )
        assert_complete(page)
        seen.extend(c.id for c in page.results)
        if page.paging is None:
            break
        after = page.paging.next.after
    assert len(seen) == CONTACTS == len(set(seen))
    assert all(s.isdigit() for s in seen)


def test_get_all_helper_and_single_get_agree(client: HubSpot) -> None:
    """The SDK's get_by_id returns the same values the list did, including the en-dash legal basis values."""
    contact = client.crm.contacts.basic_api.get_by_id(
        "1005", properties=["hs_legal_basis", "email", "country"]
    )
    assert_complete(contact)
    assert contact.id == "1005"
    assert contact.properties["hs_object_id"] == "1005"
    bases = client.crm.contacts.basic_api.get_page(limit=100, properties=["hs_legal_basis"]).results
    values = {v for c in bases if (v := c.properties.get("hs_legal_basis"))}
    assert values <= set(LEGAL_BASIS)
    assert any("–" in v for v in values)


def test_search_filters_sorts_and_pages_consistently(client: HubSpot, hs: HubSpotSandbox) -> None:
    """A filtered, sorted search pages to its reported total, in order, and every result matches."""
    api = client.crm.contacts.search_api
    body: dict[str, Any] = {
        "filterGroups": [
            {"filters": [{"propertyName": "hs_analytics_source", "operator": "EQ", "value": "OFFLINE"}]},
            {"filters": [{"propertyName": "lifecyclestage", "operator": "IN", "values": ["customer"]}]},
        ],
        "sorts": ["-createdate"],
        "properties": ["hs_analytics_source", "lifecyclestage", "createdate"],
        "limit": 200,
    }
    found: list[Any] = []
    total = None
    while True:
        page = api.do_search(public_object_search_request=body)
        assert_complete(page)
        total = page.total
        found.extend(page.results)
        if page.paging is None:
            break
        body["after"] = page.paging.next.after
    assert total is not None and 0 < total == len(found) < 10_000
    created = [c.properties["createdate"] for c in found]
    assert created == sorted(created, reverse=True)
    for c in found:
        assert (
            c.properties["hs_analytics_source"] == "OFFLINE" or c.properties["lifecyclestage"] == "customer"
        )


def test_incremental_search_by_lastmodifieddate_pages_in_order_and_sees_a_later_write_once(
    client: HubSpot,
) -> None:
    """lastmodifieddate GTE t sorted ascending (served by the index) pages in order; a later write shows once."""
    api = client.crm.contacts.search_api

    def sync(value: str, *extra: dict[str, Any]) -> tuple[int, list[Any]]:
        filters = [{"propertyName": "lastmodifieddate", "operator": "GTE", "value": value}, *extra]
        body: dict[str, Any] = {
            "filterGroups": [{"filters": filters}],
            "sorts": [{"propertyName": "lastmodifieddate", "direction": "ASCENDING"}],
            "limit": 200,
        }
        found: list[Any] = []
        while True:
            page = api.do_search(public_object_search_request=body)
            found.extend(page.results)
            if page.paging is None:
                return page.total, found
            body["after"] = page.paging.next.after

    total, found = sync("2024-01-01T00:00:00Z")
    keys = [(c.properties["lastmodifieddate"], int(c.id)) for c in found]
    assert 200 < total == len(found) < 10_000 and keys == sorted(keys)
    cursor = found[-1].properties["lastmodifieddate"]
    written = found[0].id
    client.crm.contacts.basic_api.update(
        written, simple_public_object_input={"properties": {"firstname": "Later"}}
    )
    total, again = sync(cursor, {"propertyName": "hs_object_id", "operator": "GT", "value": "0"})
    ids = [c.id for c in again]
    assert ids.count(written) == 1 and ids[-1] == written and total == len(ids) == len(set(ids))


def test_search_past_ten_thousand_results_fails_and_id_restart_works(client: HubSpot) -> None:
    """Paging one query past 10,000 results answers 400; restarting with hs_object_id GT the last id goes on."""
    api = client.crm.contacts.search_api
    body: dict[str, Any] = {"sorts": ["hs_object_id"], "limit": 200, "after": "9800"}
    page = api.do_search(public_object_search_request=body)
    assert page.total == CONTACTS and page.paging.next.after == "10000"
    body["after"] = page.paging.next.after
    with pytest.raises(Exception) as raised:
        api.do_search(public_object_search_request=body)
    assert getattr(raised.value, "status", None) == 400
    assert json.loads(raised.value.body)["category"] == "VALIDATION_ERROR"
    last = page.results[-1].id
    restart = {
        "filterGroups": [{"filters": [{"propertyName": "hs_object_id", "operator": "GT", "value": last}]}],
        "sorts": ["hs_object_id"],
        "limit": 200,
    }
    nxt = api.do_search(public_object_search_request=restart)
    assert nxt.total == CONTACTS - 10_000
    assert int(nxt.results[0].id) == int(last) + 1


def test_batch_read_reports_missing_ids_as_207(client: HubSpot) -> None:
    """Batch read with one unknown id deserialises into the WithErrors model with no required field None."""
    result = client.crm.contacts.batch_api.read(
        batch_read_input_simple_public_object_id={
            "inputs": [{"id": "1001"}, {"id": "1002"}, {"id": "999"}],
            "properties": ["email"],
        }
    )
    assert type(result).__name__ == "BatchResponseSimplePublicObjectWithErrors"
    assert_complete(result)
    assert {r.id for r in result.results} == {"1001", "1002"}
    assert result.num_errors == 1 and result.errors[0].context == {"ids": ["999"]}


def test_batch_update_writes_moves_lastmodified_and_reports_partial_failure(
    client: HubSpot, hs: HubSpotSandbox, receiver: Receiver
) -> None:
    """Batch update with an unknown id answers 207, writes the rest, moves lastmodifieddate and sends a webhook."""
    before = hs.state.record("1010")
    assert before is not None
    result = client.crm.contacts.batch_api.update(
        batch_input_simple_public_object_batch_input={
            "inputs": [
                {"id": "1010", "properties": {"lifecyclestage": "customer", "jobtitle": "Buyer"}},
                {"id": "77", "properties": {"jobtitle": "x"}},
            ]
        }
    )
    assert type(result).__name__ == "BatchResponseSimplePublicObjectWithErrors"
    assert_complete(result)
    after = hs.state.record("1010")
    assert after is not None
    assert after["properties"]["jobtitle"] == "Buyer"
    assert after["properties"]["lastmodifieddate"] > before["properties"]["lastmodifieddate"]
    assert hs.state.webhooks is not None and hs.state.webhooks.wait_idle()
    events = [e for e in receiver.events() if e["objectId"] == 1010 and e.get("propertyName") == "jobtitle"]
    assert events and events[-1]["changeSource"] == "INTEGRATION"
    assert events[-1]["sourceId"] == str(hs.app_id)


def test_batch_update_with_a_bad_option_fails_the_whole_batch(client: HubSpot, hs: HubSpotSandbox) -> None:
    """An unknown enumeration value answers 400 VALIDATION_ERROR and nothing is written."""
    with pytest.raises(Exception) as raised:
        client.crm.contacts.batch_api.update(
            batch_input_simple_public_object_batch_input={
                "inputs": [
                    {"id": "1011", "properties": {"jobtitle": "Owner"}},
                    {"id": "1012", "properties": {"lifecyclestage": "not-a-stage"}},
                ]
            }
        )
    assert raised.value.status == 400
    body = json.loads(raised.value.body)
    assert body["category"] == "VALIDATION_ERROR" and "INVALID_OPTION" in body["message"]
    record = hs.state.record("1011")
    assert record is not None and record["written"] == {}


def test_injected_input_failures_come_back_as_207_errors(client: HubSpot, hs: HubSpotSandbox) -> None:
    """With every input set to fail, batch update answers 207 with one error per input and writes nothing."""
    hs.state.faults.configure(record_error_rate=1.0)
    try:
        result = client.crm.contacts.batch_api.update(
            batch_input_simple_public_object_batch_input={
                "inputs": [{"id": "1013", "properties": {"jobtitle": "A"}}]
            }
        )
    finally:
        hs.state.faults.configure(record_error_rate=0.0)
    assert_complete(result)
    assert result.results == [] and result.errors[0].category == "LOCKED"


def test_single_create_returns_the_object_because_the_status_is_201(
    client: HubSpot, hs: HubSpotSandbox
) -> None:
    """Contact create answers 201, which the SDK maps to SimplePublicObject (a 200 would give None)."""
    created = client.crm.contacts.basic_api.create(
        simple_public_object_input_for_create={
            "properties": {"email": "new.person@example.org", "firstname": "N"}
        }
    )
    assert created is not None and created.id.isdigit()
    assert_complete(created)
    assert hs.state.record(created.id) is not None


def test_property_create_duplicate_and_group(client: HubSpot) -> None:
    """Property create answers 201 with a complete ModelProperty; a duplicate name answers 409."""
    groups = client.crm.properties.groups_api
    group = groups.create(
        object_type="contacts", property_group_create={"name": "lawful_use", "label": "Lawful use"}
    )
    assert group is not None and group.name == "lawful_use"
    core = client.crm.properties.core_api
    definition = {
        "name": "do_not_cold_call",
        "label": "Do not cold call",
        "type": "bool",
        "fieldType": "booleancheckbox",
        "groupName": "lawful_use",
        "options": [
            {"label": "Yes", "value": "true", "displayOrder": 0, "hidden": False},
            {"label": "No", "value": "false", "displayOrder": 1, "hidden": False},
        ],
    }
    created = core.create(object_type="contacts", property_create=definition)
    assert created is not None and created.name == "do_not_cold_call"
    assert_complete(created)
    with pytest.raises(Exception) as raised:
        core.create(object_type="contacts", property_create=definition)
    assert raised.value.status == 409
    names = {p.name for p in core.get_all(object_type="contacts").results}
    assert {"do_not_cold_call", "hs_legal_basis", "hs_analytics_source"} <= names
    with pytest.raises(Exception) as bad:
        client.crm.contacts.basic_api.update(
            contact_id="1020", simple_public_object_input={"properties": {"do_not_cold_call": "yes"}}
        )
    assert bad.value.status == 400
    ok = client.crm.contacts.basic_api.update(
        contact_id="1020", simple_public_object_input={"properties": {"do_not_cold_call": "true"}}
    )
    assert ok.properties["do_not_cold_call"] == "true"


def test_associations_v4_and_companies_batch_read(client: HubSpot) -> None:
    """The v4 batch read gives each contact's company; the companies batch read gives its `type`."""
    contacts = client.crm.contacts.basic_api.get_page(limit=50, properties=["associatedcompanyid"]).results
    ids = [c.id for c in contacts if c.properties.get("associatedcompanyid")]
    assoc = client.crm.associations.v4.batch_api.get_page(
        from_object_type="contacts",
        to_object_type="companies",
        batch_input_public_fetch_associations_batch_request={"inputs": [{"id": i} for i in ids]},
    )
    assert_complete(assoc)
    company_ids = {str(t.to_object_id) for r in assoc.results for t in r.to}
    assert company_ids and {t.type_id for r in assoc.results for t in r.to[0].association_types} == {1, 279}
    companies = client.crm.companies.batch_api.read(
        batch_read_input_simple_public_object_id={
            "inputs": [{"id": i} for i in company_ids],
            "properties": ["type", "name"],
        }
    )
    assert_complete(companies)
    assert {c.id for c in companies.results} == company_ids
    assert {c.properties["type"] for c in companies.results} <= {*COMPANY_TYPES, "Klant"}


def test_email_subscription_status(client: HubSpot) -> None:
    """The communication-preferences status deserialises with its required fields."""
    email = client.crm.contacts.basic_api.get_by_id("1003").properties["email"]
    status = client.communication_preferences.status_api.get_email_status(email_address=email)
    assert_complete(status)
    assert status.subscription_statuses[0].status in ("SUBSCRIBED", "NOT_SUBSCRIBED")


def test_expired_and_wrong_tokens_answer_401(client: HubSpot, hs: HubSpotSandbox) -> None:
    """A wrong token gives INVALID_AUTHENTICATION, an expired one EXPIRED_AUTHENTICATION, both 401."""
    wrong = HubSpot(access_token="nope", host=hs.base_url, retry=NO_RETRY)
    with pytest.raises(Exception) as raised:
        wrong.crm.contacts.basic_api.get_page(limit=1)
    assert raised.value.status == 401
    assert json.loads(raised.value.body)["category"] == "INVALID_AUTHENTICATION"
    hs.state.faults.configure(token_expired=True)
    try:
        with pytest.raises(Exception) as expired:
            client.crm.contacts.basic_api.get_page(limit=1)
    finally:
        hs.state.faults.configure(token_expired=False)
    assert type(expired.value).__name__ == "UnauthorizedException"
    assert json.loads(expired.value.body)["category"] == "EXPIRED_AUTHENTICATION"


def test_five_xx_and_dropped_connections_surface_as_documented(client: HubSpot, hs: HubSpotSandbox) -> None:
    """A 5xx fault raises ServiceException; a dropped connection raises a raw urllib3 error."""
    hs.state.faults.configure(error_rate=1.0)
    try:
        with pytest.raises(Exception) as failed:
            client.crm.contacts.basic_api.get_page(limit=1)
    finally:
        hs.state.faults.configure(error_rate=0.0)
    assert type(failed.value).__name__ == "ServiceException" and failed.value.status >= 500
    hs.state.faults.configure(drop_rate=1.0)
    try:
        with pytest.raises(urllib3.exceptions.HTTPError):
            client.crm.contacts.basic_api.get_page(limit=1)
    finally:
        hs.state.faults.configure(drop_rate=0.0)


def test_rate_limits_answer_429_with_documented_body_and_headers() -> None:
    """Past the rolling limit the SDK raises ApiException(429) with policyName and the rate-limit headers."""
    with running_hubspot(contacts=20, seed=2, per_ten_seconds=3, search_per_second=2) as small:
        client = HubSpot(access_token=small.token, host=small.base_url, retry=NO_RETRY)
        api = client.crm.contacts.basic_api
        for _ in range(3):
            api.get_page(limit=1)
        with pytest.raises(Exception) as raised:
            api.get_page(limit=1)
        exc = raised.value
        assert exc.status == 429
        body = json.loads(exc.body)
        assert body["policyName"] == "TEN_SECONDLY_ROLLING" and body["errorType"] == "RATE_LIMIT"
        assert body["message"] == "You have reached your ten_secondly_rolling limit."
        assert exc.headers["X-HubSpot-RateLimit-Max"] == "3"
        assert exc.headers["X-HubSpot-RateLimit-Remaining"] == "0"
        assert "Retry-After" not in exc.headers
        search = client.crm.contacts.search_api
        search.do_search(public_object_search_request={"limit": 1})
        search.do_search(public_object_search_request={"limit": 1})
        with pytest.raises(Exception) as limited:
            search.do_search(public_object_search_request={"limit": 1})
        assert json.loads(limited.value.body)["policyName"] == "SECONDLY"
        assert small.state.calls["POST /crm/v3/objects/contacts/search"] == 3


def test_webhooks_are_signed_v3_and_show_the_change_source(
    client: HubSpot, hs: HubSpotSandbox, receiver: Receiver
) -> None:
    """A UI change arrives as a signed batch the SDK's Signature validates, with changeSource CRM_UI."""
    hs.state.ui_update("1030", {"hs_lead_status": "CONNECTED"})
    assert hs.state.webhooks is not None and hs.state.webhooks.wait_idle()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and not any(e["objectId"] == 1030 for e in receiver.events()):
        time.sleep(0.01)
    headers, body = next(
        (h, b) for h, b in receiver.received if any(e["objectId"] == 1030 for e in json.loads(b))
    )
    assert Signature.is_valid(
        signature=headers["X-HubSpot-Signature-v3"],
        client_secret=hs.webhook_secret,
        request_body=body.decode(),
        http_uri=receiver.url,
        http_method="POST",
        signature_version="v3",
        timestamp=headers["X-HubSpot-Request-Timestamp"],
    )
    events = json.loads(body)
    assert len(events) <= 100
    event = next(e for e in events if e["objectId"] == 1030)
    assert event["subscriptionType"] == "contact.propertyChange" and event["changeSource"] == "CRM_UI"
    assert event["propertyValue"] == "CONNECTED" and event["portalId"] == hs.portal_id


def test_failed_webhook_deliveries_are_retried_with_a_higher_attempt_number(
    hs: HubSpotSandbox, receiver: Receiver
) -> None:
    """A receiver answering 500 gets the batch again with attemptNumber 1."""
    receiver.status = 500
    start = len(receiver.received)
    hs.state.ui_update("1031", {"hs_lead_status": "OPEN"})
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and len(receiver.received) < start + 2:
        time.sleep(0.01)
    receiver.status = 204
    assert hs.state.webhooks is not None and hs.state.webhooks.wait_idle()
    attempts = [e["attemptNumber"] for _, b in receiver.received[start:] for e in json.loads(b)]
    assert 0 in attempts and 1 in attempts


def test_admin_record_endpoint_and_counters(client: HubSpot, hs: HubSpotSandbox) -> None:
    """Stored records are readable without the API and calls are counted per endpoint template."""
    http = urllib3.PoolManager()
    response = http.request("GET", f"{hs.base_url}/__sandbox/records/contacts/1010")
    assert response.status == 200 and json.loads(response.data)["id"] == "1010"
    assert hs.state.calls["GET /crm/v3/objects/contacts"] > 0
    assert all("@" not in r.endpoint for r in hs.state.requests)
