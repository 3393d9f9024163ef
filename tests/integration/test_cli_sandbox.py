"""`lawful-crm sandbox` as an admin runs it: a real process, the real SDKs against it, a clean stop on SIGTERM."""

from __future__ import annotations

import json
import signal
import subprocess
import sys

from hubspot import HubSpot
from simple_salesforce import Salesforce

from crm_sandbox.salesforce.client import loopback_session
from tests.helpers import sandbox_process


def test_sandbox_prints_its_settings_serves_both_sdks_and_stops_cleanly() -> None:
    """The first stdout line is the JSON settings; both SDKs read seeded data; SIGTERM ends it with status 0."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "connector.cli", "sandbox", "--contacts", "300", "--seed", "4", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        info = json.loads(proc.stdout.readline())
        sf_info, hs_info = info["salesforce"], info["hubspot"]
        sf = Salesforce(
            instance_url=sf_info["instance_url"],
            session_id=sf_info["token"],
            session=loopback_session(sf_info["instance_url"]),
            version=sf_info["api_version"],
        )
        contacts = sf.query_all("SELECT Id, LeadSource, Account.Type FROM Contact")
        assert contacts["totalSize"] == 300
        client = HubSpot(access_token=hs_info["token"], host=hs_info["base_url"])
        page = client.crm.contacts.basic_api.get_page(limit=100)
        assert len(page.results) == 100 and page.paging.next.after
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert "sandbox stopped" in err


def test_with_a_search_lag_search_shows_a_write_late_and_a_read_by_id_at_once() -> None:
    """`--search-lag 30`, for rehearsing against HubSpot's eventually consistent search: a contact written
    through the API keeps its old values in search, a read by id has the new ones; the settings say the lag."""
    with sandbox_process(contacts=120, search_lag=30) as info:
        hs_info = info["hubspot"]
        assert hs_info["search_lag_s"] == 30
        client = HubSpot(access_token=hs_info["token"], host=hs_info["base_url"])
        contacts = client.crm.contacts.basic_api
        contacts.update(
            contact_id="1003", simple_public_object_input={"properties": {"jobtitle": "Lag check"}}
        )
        assert (
            contacts.get_by_id(contact_id="1003", properties=["jobtitle"]).properties["jobtitle"]
            == "Lag check"
        )
        by_title = {
            "filterGroups": [
                {"filters": [{"propertyName": "jobtitle", "operator": "EQ", "value": "Lag check"}]}
            ]
        }
        assert client.crm.contacts.search_api.do_search(public_object_search_request=by_title).total == 0
