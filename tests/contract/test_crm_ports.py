"""The CrmPort behaviours of `port_suite` against every port: the fake CRM, and both adapters on their sandboxes.

The adapters are built from configuration, as `lawful-crm` builds them, and talk to the sandboxes through the
real vendor SDKs over loopback HTTP. Retries do not wait.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from pydantic import SecretStr

from connector.crm.port import FieldUpdate
from connector.mapping.load import load_mapping
from connector.settings import HubSpotConfig, SalesforceConfig
from crm_sandbox.hubspot import running_hubspot
from crm_sandbox.salesforce.ids import make_id
from crm_sandbox.salesforce.seed import SALES_USER_ID
from crm_sandbox.salesforce.server import running_salesforce
from tests.contract.port_suite import BEHAVIOURS, PAGE_SIZE, RECORDS, PortFactory, PortUnderTest
from tests.fakes import FakeCrm

pytestmark = pytest.mark.usefixtures("no_retry_waits")


@contextmanager
def fake_crm() -> Iterator[PortUnderTest]:
    """The in-memory CRM the sync's own tests use."""
    crm = FakeCrm.seeded(RECORDS, page_size=PAGE_SIZE)

    def refused(record_id: str) -> FieldUpdate:
        crm.reject_on_write[record_id] = "FIELD_INTEGRITY_EXCEPTION"
        return FieldUpdate("Contact", record_id, {"Lawful_Use__c": "opt_in"})

    yield PortUnderTest(
        port=crm,
        crm="salesforce",
        object_type="Contact",
        writeback=load_mapping("salesforce").writeback,
        batch_limit=crm.batch_limit,
        live_ids=lambda: set(crm.records) - crm.deleted,
        edit=lambda record_id: crm.edit(record_id, LeadSource="Web"),
        delete=crm.delete,
        refused=refused,
        refused_write_calls=lambda: sum(size > crm.batch_limit for size in crm.batch_sizes),
        now=crm.now,
    )


@contextmanager
def salesforce() -> Iterator[PortUnderTest]:
    """SalesforceCrm on an org with the connector's fields installed."""
    from connector.crm.salesforce import SalesforceCrm

    mapping = load_mapping("salesforce")
    with running_salesforce(contacts=RECORDS, seed=3, connector_fields=True) as sandbox:
        config = SalesforceConfig(
            auth="session",
            instance_url=sandbox.base_url,
            session_id=SecretStr(sandbox.token),
            page_size=PAGE_SIZE,
        )
        store = sandbox.state.store
        contact = store.spec("Contact")
        assert contact is not None

        def index(record_id: str) -> int:
            located = store.locate(record_id)
            assert located is not None
            return located[1]

        def live_ids() -> set[str]:
            indexes = store.indexes(contact.name)
            return {make_id(contact.key_prefix, i) for i in indexes if store.get(contact.name, i) is not None}

        def refused_write_calls() -> int:
            log = list(sandbox.state.request_log)
            return sum(entry["endpoint"] == "compositeUpdate" and entry["status"] >= 400 for entry in log)

        yield PortUnderTest(
            port=SalesforceCrm.from_config(config, mapping, bulk_poll_s=0),
            crm="salesforce",
            object_type="Contact",
            writeback=mapping.writeback,
            batch_limit=200,
            live_ids=live_ids,
            edit=lambda record_id: store.update(
                contact.name, index(record_id), {"LeadSource": "Web"}, by=SALES_USER_ID
            ),
            delete=lambda record_id: store.delete(contact.name, index(record_id)),
            refused=lambda record_id: FieldUpdate(
                "Contact", record_id, {mapping.writeback.reason: "x" * 300}
            ),  # longer than the field's 255 characters
            refused_write_calls=refused_write_calls,
            now=store.clock,
        )


@contextmanager
def hubspot() -> Iterator[PortUnderTest]:
    """HubSpotCrm on a portal with the connector's properties installed, without rate limits."""
    from connector.crm.hubspot import HubSpotCrm

    mapping = load_mapping("hubspot")
    with running_hubspot(contacts=RECORDS, seed=11, per_ten_seconds=None, search_per_second=None) as hs:
        config = HubSpotConfig(
            base_url=hs.base_url,
            access_token=SecretStr(hs.token),
            per_ten_seconds=10_000,
            search_per_second=1_000,
        )
        crm = HubSpotCrm.from_config(config, mapping)
        assert crm.install(dry_run=False, uninstall=False).problems == ()
        store = hs.state.store

        def index(record_id: str) -> int:
            found = store.index_of(record_id)
            assert found is not None
            return found

        def refused_write_calls() -> int:
            settled = -1
            while settled != (settled := sum(hs.state.calls.values())):
                time.sleep(0.01)  # the portal logs a request just after answering it
            return sum(
                entry.endpoint.endswith("/batch/update") and entry.status >= 400
                for entry in hs.state.requests
            )

        yield PortUnderTest(
            port=crm,
            crm="hubspot",
            object_type="contacts",
            writeback=mapping.writeback,
            batch_limit=100,
            live_ids=lambda: {store.contact_id(i) for i in store.iter_indices()},
            edit=lambda record_id: hs.state.ui_update(record_id, {"lead_source": "web_form_optin"}) and None,
            delete=lambda record_id: store.archive(index(record_id)),
            refused=lambda record_id: FieldUpdate(
                "contacts", record_id, {mapping.writeback.lawful_use: "not-a-category"}
            ),  # not an option of the enumeration
            refused_write_calls=refused_write_calls,
            now=store.clock.now,
        )


PORTS: dict[str, PortFactory] = {"fake": fake_crm, "salesforce": salesforce, "hubspot": hubspot}


@pytest.mark.parametrize("behaviour", BEHAVIOURS, ids=lambda behaviour: behaviour.__name__)
@pytest.mark.parametrize("port", PORTS)
def test_the_port_shows_the_behaviour(port: str, behaviour: Callable[[PortFactory], None]) -> None:
    """Every CrmPort passes every behaviour of the suite (see `port_suite`)."""
    behaviour(PORTS[port])
