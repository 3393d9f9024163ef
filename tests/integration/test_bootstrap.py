"""The composition root: one registry of CRM adapters keyed by CrmName, and syncs that take their CRM's lease."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any, get_args

import pytest
from pydantic import SecretStr

from connector import bootstrap
from connector.errors import ConfigurationError, SyncAlreadyRunning
from connector.models import CrmName
from connector.settings import HubSpotConfig, Settings, SyncConfig
from connector.sync.lease import SYNC_LEASE_TTL, lease_name
from connector.sync.run import Outcome, SyncOptions
from tests.dnc_keys import TEST_KEY_HEX
from tests.fakes import FakeCrm

NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)


def test_every_crm_name_has_exactly_one_adapter() -> None:
    """A CRM added to CrmName without an adapter (or the reverse) fails here, not at a customer's first sync."""
    assert set(bootstrap.ADAPTERS) == set(get_args(CrmName)) == set(bootstrap.CRMS)


@pytest.mark.parametrize("name", ["pipedrive", "HubSpot", ""])
def test_an_unknown_crm_is_refused_never_taken_for_hubspot(name: str) -> None:
    settings = Settings(hubspot=HubSpotConfig(access_token=SecretStr("pat-na1-test")))
    mapping = bootstrap.mapping_for(settings, "hubspot")
    with pytest.raises(ConfigurationError) as refused:
        bootstrap.build_crm(settings, name, mapping)
    assert f"unknown CRM {name!r}" in str(refused.value)
    assert refused.value.problems == ("use salesforce or hubspot",)


def test_a_crm_without_its_settings_table_is_a_configuration_error_naming_the_table() -> None:
    app = bootstrap.build(Settings())
    with pytest.raises(ConfigurationError, match="salesforce is not configured") as refused:
        app.crm("salesforce")
    assert refused.value.problems == ("add a [salesforce] table to lawful-crm.toml",)


def app_on(tmp_path: Path, crm: FakeCrm, **settings_tables: Any) -> bootstrap.App:
    settings = Settings(dnc_key=SecretStr(TEST_KEY_HEX), **settings_tables)
    return bootstrap.build(
        settings, store_url=f"sqlite:///{tmp_path / 'store.db'}", clock=lambda: NOW,
        adapters={"salesforce": lambda settings, mapping, limiter=None: crm},
    )  # fmt: skip


def test_a_sync_runs_under_its_crms_lease_and_gives_it_back(tmp_path: Path) -> None:
    crm = FakeCrm.seeded(12)
    app = app_on(tmp_path, crm)
    try:
        result = app.sync("salesforce", SyncOptions())
        assert result.outcome is Outcome.COMPLETED and len(crm.written_ids()) == 12
        assert app.store.locks.acquire(lease_name("salesforce"), "host:2:other", now=NOW, ttl=SYNC_LEASE_TTL)
    finally:
        app.close()


def test_a_sync_whose_lease_another_process_holds_does_not_start(tmp_path: Path) -> None:
    crm = FakeCrm.seeded(5)
    app = app_on(tmp_path, crm)
    try:
        assert app.store.locks.acquire(lease_name("salesforce"), "elsewhere:77", now=NOW, ttl=SYNC_LEASE_TTL)
        with pytest.raises(SyncAlreadyRunning):
            app.sync("salesforce", SyncOptions())
        assert crm.calls == 0, "the CRM is not called"
        assert app.store.locks.held(lease_name("salesforce"), now=NOW), "the other holder keeps its lease"
    finally:
        app.close()


def test_the_guard_share_comes_from_the_sync_settings(tmp_path: Path) -> None:
    """[sync] guard_share applies to every sync the App runs: at 1 the guard lets a mass loosening through,
    where the options' own default share would refuse it."""
    crm = FakeCrm.seeded(200)
    app = app_on(tmp_path, crm, sync=SyncConfig(guard_share=1.0))
    try:
        app.sync("salesforce", SyncOptions())
        for record_id in crm.records:  # every record now looks like an own opt-in with fresh consent
            crm.edit(record_id, LeadSource="Web", Email_Opt_In_Date__c="2026-11-01", HasOptedOutOfEmail=False)
        assert SyncOptions().guard_share < 1.0
        assert app.sync("salesforce", SyncOptions()).outcome is Outcome.COMPLETED
    finally:
        app.close()
