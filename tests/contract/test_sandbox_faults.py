"""One fault vocabulary for both emulators: the same keys over HTTP and from Python, the same refusals, the same
seeded decisions; Salesforce adds only what its record errors say."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from crm_sandbox.faults import Faults
from crm_sandbox.launch import Sandboxes, running_sandboxes
from crm_sandbox.salesforce.faults import SalesforceFaults

SHARED: dict[str, Any] = {
    "seed": 3, "error_rate": 0.0, "error_status": 500, "storm_rate": 0.0, "storm_length": 2, "storm_status": 429,
    "storm_remaining": 0, "slow_rate": 0.0, "slow_seconds": 0.01, "drop_rate": 0.0, "record_error_rate": 0.0,
    "locked_ids": {"0031": 1}, "token_expired": False,
}  # fmt: skip
"""A value for every shared key, none of which makes a request fail."""
SALESFORCE_ONLY: dict[str, Any] = {
    "record_error_code": "FIELD_CUSTOM_VALIDATION_EXCEPTION",
    "record_error_message": "Blocked: {Email}",
}


@pytest.fixture(scope="module")
def sandboxes() -> Iterator[Sandboxes]:
    with running_sandboxes(contacts=10) as running:
        yield running


def faults_url(sandboxes: Sandboxes, crm: str) -> str:
    base = sandboxes.salesforce.base_url if crm == "salesforce" else sandboxes.hubspot.base_url
    return f"{base}/__sandbox/faults"


def test_the_shared_keys_are_every_fault_both_emulators_inject() -> None:
    assert set(SHARED) == set(Faults.keys())
    assert SalesforceFaults.keys() == Faults.keys() + list(SALESFORCE_ONLY)


@pytest.mark.parametrize("crm", ["salesforce", "hubspot"])
def test_both_emulators_take_the_same_keys_over_http_and_refuse_an_unknown_one_with_400(
    sandboxes: Sandboxes, crm: str
) -> None:
    url = faults_url(sandboxes, crm)
    try:
        answer = requests.post(url, json=SHARED, timeout=5)
        assert answer.status_code == 200
        assert {key: answer.json()[key] for key in SHARED} == SHARED
        assert requests.get(url, timeout=5).json() == answer.json()
        before = answer.json()
        for refused in (
            {"rate_5xx": 0.1},
            {"error_rate": 0.1, "nope": 1},
            {"error_rate": 2},
            {"error_status": 200},
        ):
            answer = requests.post(url, json=refused, timeout=5)
            assert answer.status_code == 400, refused
            assert requests.get(url, timeout=5).json() == before, "a refused change changes nothing"
    finally:
        requests.post(url, json={"locked_ids": {}, "slow_seconds": 0.5}, timeout=5)


def test_only_salesforce_takes_what_its_record_errors_say(sandboxes: Sandboxes) -> None:
    url = faults_url(sandboxes, "salesforce")
    answer = requests.post(url, json=SALESFORCE_ONLY, timeout=5)
    assert (
        answer.status_code == 200 and {key: answer.json()[key] for key in SALESFORCE_ONLY} == SALESFORCE_ONLY
    )
    requests.post(
        url, json={"record_error_code": "UNABLE_TO_LOCK_ROW", "record_error_message": None}, timeout=5
    )
    assert requests.post(faults_url(sandboxes, "hubspot"), json=SALESFORCE_ONLY, timeout=5).status_code == 400


@pytest.mark.parametrize("crm", ["salesforce", "hubspot"])
def test_an_error_storm_and_an_expired_token_land_on_api_calls_and_end(
    sandboxes: Sandboxes, crm: str
) -> None:
    """Two 503s from `storm_remaining`, then the call goes through; while `token_expired`, a 401."""
    sandbox = sandboxes.salesforce if crm == "salesforce" else sandboxes.hubspot
    path = "/services/data/v59.0/limits" if crm == "salesforce" else "/crm/v3/objects/contacts?limit=1"
    headers = {"Authorization": f"Bearer {sandbox.token}"}

    def status() -> int:
        return requests.get(f"{sandbox.base_url}{path}", headers=headers, timeout=5).status_code

    sandbox.state.faults.configure(storm_remaining=2, storm_status=503)
    assert [status(), status(), status()] == [503, 503, 200]
    sandbox.state.faults.configure(token_expired=True)
    try:
        assert status() == 401
    finally:
        sandbox.state.faults.configure(token_expired=False)
    assert status() == 200


def test_the_same_seed_draws_the_same_faults() -> None:
    def draws(faults: Faults) -> list[Any]:
        return [(faults.request_error(), faults.drop(), faults.record_fails("x")) for _ in range(200)]

    settings = {
        "error_rate": 0.1,
        "storm_rate": 0.02,
        "storm_length": 3,
        "drop_rate": 0.1,
        "record_error_rate": 0.3,
    }
    first, second = Faults(seed=7, **settings), SalesforceFaults(seed=7, **settings)
    assert draws(first) == draws(second)
    second.configure(seed=7)
    assert draws(Faults(seed=7, **settings)) == draws(second), "configure(seed=...) starts the sequence again"
    assert {status for status, _, _ in draws(first)} == {None, 503}


def test_a_storm_runs_its_length_and_a_held_lock_its_count() -> None:
    faults = Faults(storm_rate=1.0, storm_length=3, storm_status=429)
    assert [faults.request_error() for _ in range(3)] == [429, 429, 429]
    faults.configure(storm_rate=0.0)
    assert [faults.request_error() for _ in range(3)] == [None, None, None]
    locks = SalesforceFaults(locked_ids={"a": 2}, record_error_code="FIELD_CUSTOM_VALIDATION_EXCEPTION")
    assert [locks.record_error("a") for _ in range(3)] == ["UNABLE_TO_LOCK_ROW", "UNABLE_TO_LOCK_ROW", None]
    assert locks.record_error("b") is None and locks.settings()["locked_ids"] == {"a": 0}


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"rate_429": 0.1}, "unknown fault settings: ['rate_429']"),
        ({"drop_rate": "often"}, "drop_rate must be a number from 0 to 1"),
        ({"token_expired": 1}, "token_expired must be true or false"),
        ({"locked_ids": {"a": -1}}, "locked_ids must be an object"),
    ],
)
def test_configure_refuses_unknown_keys_and_bad_values_and_changes_nothing(
    changes: dict[str, Any], message: str
) -> None:
    faults = Faults()
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        faults.configure(error_rate=0.5, **changes)
    assert faults.settings() == Faults().settings()
    with pytest.raises(ValueError, match="error_rate must be a number from 0 to 1"):
        Faults(error_rate=2)
