"""`lawful-crm sandbox` as an admin runs it: a real process, the real SDKs against it, a clean stop on SIGTERM."""

from __future__ import annotations

import json
import signal
import subprocess
import sys

from hubspot import HubSpot
from simple_salesforce import Salesforce

from crm_sandbox.salesforce.client import loopback_session


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
