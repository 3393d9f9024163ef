"""The newest ContactPointTypeConsent rows (a reader's consent mark) are found from the newest persons only,
with exactly the answer of a scan of every row, after rows are written, created and deleted."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from crm_sandbox.people import person
from crm_sandbox.salesforce import consent_seed, keyset
from crm_sandbox.salesforce.query import Executor
from crm_sandbox.salesforce.soql import parse
from crm_sandbox.salesforce.store import Store
from tests.helpers import SettableClock

NEWEST = "SELECT Id FROM ContactPointTypeConsent {where} ORDER BY SystemModstamp DESC, Id DESC {limit}"


def test_a_seeded_consent_row_is_never_later_than_its_person_modified_plus_the_lag() -> None:
    """The bound the search stops on holds for every seeded row."""
    checked = 0
    for index in range(4000 * consent_seed.CONSENT_SLOTS):
        row = consent_seed.consent(7, index)
        if row is not None:
            party = index // consent_seed.CONSENT_SLOTS
            assert row["SystemModstamp"] < person(7, party).modified + consent_seed.LATEST_AFTER_MODIFIED
            assert row["SystemModstamp"] < consent_seed.newest_bound(7, party)
            checked += 1
    assert checked > 1000


@pytest.fixture
def org() -> tuple[Store, Executor]:
    clock = SettableClock()
    store = Store(seed=12, contacts=500, leads=150, clock=clock)
    present = [i for i in range(0, 2600) if store.get("ContactPointTypeConsent", i) is not None]
    store.update("ContactPointTypeConsent", present[3], {"PrivacyConsentStatus": "OptOut"})
    store.delete("ContactPointTypeConsent", present[40])
    clock.now = datetime(2014, 1, 1, 12, tzinfo=UTC)  # a write older than most seeded rows
    store.update("ContactPointTypeConsent", present[80], {"PrivacyConsentStatus": "OptIn"})
    return store, Executor(store)


@pytest.mark.parametrize(
    ("where", "limit"),
    [
        ("", "LIMIT 200"),
        ("", "LIMIT 5 OFFSET 3"),
        ("", "LIMIT 1"),
        ("", "LIMIT 0"),
        ("WHERE PrivacyConsentStatus = 'OptOut'", "LIMIT 20"),
        ("", "LIMIT 100000"),
    ],
)
@pytest.mark.parametrize("include_deleted", [False, True])
def test_the_newest_rows_are_the_scan_s(
    org: tuple[Store, Executor], where: str, limit: str, include_deleted: bool
) -> None:
    """The same rows in the same order as a scan of every row, deleted ones only for queryAll."""
    _, executor = org
    query = parse(NEWEST.format(where=where, limit=limit))
    fast = list(executor.execute(query, include_deleted=include_deleted))
    original = keyset.newest_consents
    keyset.newest_consents = lambda *args, **kwargs: None  # type: ignore[assignment]
    try:
        scanned = list(executor.execute(query, include_deleted=include_deleted))
    finally:
        keyset.newest_consents = original
    assert fast == scanned


def test_other_shapes_are_left_to_the_scan(org: tuple[Store, Executor]) -> None:
    """Ascending order, no LIMIT or another object: not served."""
    _, executor = org
    for soql in (
        "SELECT Id FROM ContactPointTypeConsent ORDER BY SystemModstamp, Id LIMIT 5",
        "SELECT Id FROM ContactPointTypeConsent ORDER BY SystemModstamp DESC, Id DESC",
        "SELECT Id FROM Individual ORDER BY SystemModstamp DESC, Id DESC LIMIT 5",
    ):
        query = parse(soql)
        obj = executor.object(query.sobject)
        assert keyset.newest_consents(executor, obj, query, include_deleted=False) is None
