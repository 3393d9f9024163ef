"""The real hubspot-api-client against the HubSpot sandbox's strictness: what HubSpot refuses, what vanishes,
merges and search lag. Each test fails on a sandbox that accepts more or keeps more than HubSpot does."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from hubspot import HubSpot
from urllib3.util.retry import Retry

from crm_sandbox.hubspot import HubSpotSandbox, running_hubspot

NO_RETRY = Retry(total=0, status=0, respect_retry_after_header=False)
CONTACTS = 400


@pytest.fixture
def hs() -> Iterator[HubSpotSandbox]:
    """A fresh sandbox per test (tests here delete, merge and move the clock), no rate limits."""
    with running_hubspot(contacts=CONTACTS, seed=11, per_ten_seconds=None, search_per_second=None) as sandbox:
        yield sandbox


@pytest.fixture
def client(hs: HubSpotSandbox) -> HubSpot:
    """The real SDK on the sandbox, urllib3 retries off."""
    return HubSpot(access_token=hs.token, host=hs.base_url, retry=NO_RETRY)


def refusal(call: Any, **kwargs: Any) -> dict[str, Any]:
    """The status and JSON body of an SDK call that must fail."""
    with pytest.raises(Exception) as caught:
        call(**kwargs)
    exc = caught.value
    return {**json.loads(getattr(exc, "body", "{}") or "{}"), "status": getattr(exc, "status", None)}


def ids_listed(client: HubSpot, *, archived: bool) -> set[str]:
    """Every contact id of the live (or archived) list, through the SDK's paging."""
    api, found, after = client.crm.contacts.basic_api, set(), None
    while True:
        page = api.get_page(limit=100, after=after, archived=archived)
        found |= {c.id for c in page.results}
        if page.paging is None or page.paging.next is None:
            return found
        after = page.paging.next.after


def search_ids(client: HubSpot, body: dict[str, Any]) -> list[str]:
    """The ids one search page answers."""
    return [c.id for c in client.crm.contacts.search_api.do_search(public_object_search_request=body).results]


class TestRefusals:
    """Unknown keys, unsupported parameters and duplicate ids are 400s, never silently widened requests."""

    def test_a_top_level_filters_key_is_refused_not_read_as_the_whole_portal(self, client: HubSpot) -> None:
        """`filters` instead of `filterGroups` names the unknown field in a 400 VALIDATION_ERROR."""
        body = {"filters": [{"propertyName": "email", "operator": "EQ", "value": "x@y.z"}], "limit": 10}
        answer = refusal(client.crm.contacts.search_api.do_search, public_object_search_request=body)
        assert answer["status"] == 400 and answer["category"] == "VALIDATION_ERROR"
        assert '"filters"' in answer["message"]

    def test_an_unknown_key_inside_a_filter_is_refused(self, client: HubSpot) -> None:
        """A misspelt filter key (`property`) is refused rather than matching everything."""
        body = {"filterGroups": [{"filters": [{"property": "email", "operator": "HAS_PROPERTY"}]}]}
        answer = refusal(client.crm.contacts.search_api.do_search, public_object_search_request=body)
        assert answer["status"] == 400 and '"property"' in answer["message"]

    def test_an_unknown_key_in_a_batch_update_input_is_refused_and_nothing_is_written(
        self, client: HubSpot, hs: HubSpotSandbox
    ) -> None:
        """`props` instead of `properties` fails the batch before any write."""
        body = {"inputs": [{"id": "1001", "props": {"firstname": "X"}}]}
        answer = refusal(
            client.crm.contacts.batch_api.update, batch_input_simple_public_object_batch_input=body
        )
        assert answer["status"] == 400 and '"props"' in answer["message"]
        stored = hs.state.record("1001")
        assert stored is not None and stored["written"] == {}

    def test_an_unsupported_query_parameter_is_refused(self, hs: HubSpotSandbox) -> None:
        """`?propertiesWithHistroy=` (misspelt) on the list answers 400, not a page without history."""
        answer = requests.get(
            f"{hs.base_url}/crm/v3/objects/contacts",
            params={"limit": "5", "propertiesWithHistroy": "email"},
            headers={"Authorization": f"Bearer {hs.token}"},
            timeout=10,
        )
        assert answer.status_code == 400 and answer.json()["category"] == "VALIDATION_ERROR"

    def test_properties_with_history_are_answered_not_ignored(self, client: HubSpot) -> None:
        """The supported parameter gives each asked property's versions."""
        page = client.crm.contacts.basic_api.get_page(limit=3, properties_with_history=["email"])
        histories = [c.properties_with_history for c in page.results]
        assert all(h and h["email"][0].value for h in histories)

    @pytest.mark.parametrize("endpoint", ["read", "update"])
    def test_a_batch_naming_one_id_twice_is_refused(self, client: HubSpot, endpoint: str) -> None:
        """400 "Duplicate IDs found in batch input", for batch read and batch update alike."""
        api = client.crm.contacts.batch_api
        if endpoint == "read":
            body: dict[str, Any] = {
                "inputs": [{"id": "1001"}, {"id": "1002"}, {"id": "1001"}],
                "properties": [],
            }
            answer = refusal(api.read, batch_read_input_simple_public_object_id=body)
        else:
            inputs = [{"id": "1001", "properties": {"firstname": "A"}}] * 2
            answer = refusal(api.update, batch_input_simple_public_object_batch_input={"inputs": inputs})
        assert answer["status"] == 400
        assert answer["message"].startswith("Duplicate IDs found in batch input")

    def test_a_history_batch_read_takes_at_most_fifty_inputs(self, client: HubSpot) -> None:
        """With propertiesWithHistory the batch limit drops from 100 to 50."""
        body = {"inputs": [{"id": str(1001 + i)} for i in range(51)], "propertiesWithHistory": ["email"]}
        answer = refusal(client.crm.contacts.batch_api.read, batch_read_input_simple_public_object_id=body)
        assert answer["status"] == 400 and "50" in answer["message"]


class TestVanishing:
    """GDPR deletes and the 90-day purge make ids unknown; nothing keeps them in an archived list."""

    def test_a_gdpr_delete_is_permanent(self, client: HubSpot, hs: HubSpotSandbox) -> None:
        """The contact is neither live nor archived afterwards, and reading it archived is a 404."""
        client.crm.contacts.basic_api.purge(public_gdpr_delete_input={"objectId": "1005"})
        assert "1005" not in ids_listed(client, archived=False)
        assert "1005" not in ids_listed(client, archived=True)
        answer = refusal(client.crm.contacts.basic_api.get_by_id, contact_id="1005", archived=True)
        assert answer["status"] == 404

    def test_archived_contacts_are_purged_ninety_days_later(
        self, client: HubSpot, hs: HubSpotSandbox
    ) -> None:
        """Archived today: in the archived list; 89 days on still there; 91 days on gone for good."""
        client.crm.contacts.basic_api.archive(contact_id="1010")
        assert "1010" in ids_listed(client, archived=True)
        hs.state.clock.advance(days=89)
        assert "1010" in ids_listed(client, archived=True)
        hs.state.clock.advance(days=2)
        assert "1010" not in ids_listed(client, archived=True)
        assert (
            refusal(client.crm.contacts.basic_api.get_by_id, contact_id="1010", archived=True)["status"]
            == 404
        )


class TestMerges:
    """A merge folds one contact into another: the loser's id reads as the winner."""

    def test_the_loser_id_redirects_to_the_winner_which_lists_it(
        self, client: HubSpot, hs: HubSpotSandbox
    ) -> None:
        """After merging 1021 into 1020: reads of 1021 answer 1020, and 1021 is listed nowhere."""
        merged = client.crm.contacts.basic_api.merge(
            public_merge_input={"primaryObjectId": "1020", "objectIdToMerge": "1021"}
        )
        assert merged.id == "1020"
        redirected = client.crm.contacts.basic_api.get_by_id(
            contact_id="1021", properties=["hs_merged_object_ids"]
        )
        assert redirected.id == "1020" and redirected.properties["hs_merged_object_ids"] == "1021"
        batch = client.crm.contacts.batch_api.read(
            batch_read_input_simple_public_object_id={"inputs": [{"id": "1021"}], "properties": []}
        )
        assert [c.id for c in batch.results] == ["1020"]
        assert "1021" not in ids_listed(client, archived=False) | ids_listed(client, archived=True)
        everyone = {"filterGroups": [{"filters": [{"propertyName": "hs_object_id", "operator": "LTE",
                                                  "value": "1030"}]}], "limit": 100}  # fmt: skip
        found = search_ids(client, everyone)
        assert "1020" in found and "1021" not in found


class TestSearchLag:
    """Search sees a write only after the configured lag; reads by id see it at once."""

    @pytest.fixture
    def lagging(self) -> Iterator[HubSpotSandbox]:
        with running_hubspot(contacts=200, seed=3, per_ten_seconds=None, search_per_second=None,
                             search_lag_s=30) as sandbox:  # fmt: skip
            yield sandbox

    def test_a_change_is_searchable_only_after_the_lag(self, lagging: HubSpotSandbox) -> None:
        """A changed contact keeps its old values in search (so a `lastmodifieddate GT` read misses it) until
        the lag has passed; a created contact is not found at all until then."""
        client = HubSpot(access_token=lagging.token, host=lagging.base_url, retry=NO_RETRY)
        before = lagging.state.clock.now()
        since = str(int(before.timestamp() * 1000))
        client.crm.contacts.basic_api.update(
            contact_id="1003", simple_public_object_input={"properties": {"firstname": "Lagging"}}
        )
        created = client.crm.contacts.basic_api.create(
            simple_public_object_input_for_create={"properties": {"email": "new.person@example.org"}}
        )
        assert client.crm.contacts.basic_api.get_by_id(contact_id="1003").properties["firstname"] == "Lagging"
        changed = {
            "filterGroups": [{"filters": [{"propertyName": "lastmodifieddate", "operator": "GT", "value": since}]}],
            "sorts": ["lastmodifieddate"], "properties": ["firstname"], "limit": 100,
        }  # fmt: skip
        by_name = {"filterGroups": [{"filters": [{"propertyName": "firstname", "operator": "EQ",
                                                  "value": "Lagging"}]}]}  # fmt: skip
        assert search_ids(client, changed) == [] and search_ids(client, by_name) == []
        lagging.state.clock.advance(seconds=31)
        assert search_ids(client, changed) == ["1003", created.id]
        assert search_ids(client, by_name) == ["1003"]


def test_v4_association_reads_take_a_thousand_inputs_and_go_both_ways(client: HubSpot) -> None:
    """contact→company batch reads take up to 1,000 ids (1,001 is a 400); company→contacts lists members."""
    api = client.crm.associations.v4.batch_api
    many = {"inputs": [{"id": str(1001 + i)} for i in range(CONTACTS)]}
    answer = api.get_page(from_object_type="contacts", to_object_type="companies",
                          batch_input_public_fetch_associations_batch_request=many)  # fmt: skip
    assert len(answer.results) > 100
    too_many = {"inputs": [{"id": str(1001 + i)} for i in range(1001)]}
    refused = refusal(api.get_page, from_object_type="contacts", to_object_type="companies",
                      batch_input_public_fetch_associations_batch_request=too_many)  # fmt: skip
    assert refused["status"] == 400
    company = answer.results[0].to[0].to_object_id
    members = api.get_page(from_object_type="companies", to_object_type="contacts",
                           batch_input_public_fetch_associations_batch_request={"inputs": [{"id": str(company)}]})  # fmt: skip
    assert answer.results[0]._from.id in {str(m.to_object_id) for m in members.results[0].to}
