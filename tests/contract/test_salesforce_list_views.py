"""The sandbox's list views answer as an org's UI API does: created at API 61.0+, read and deleted by API name,
refused for duplicate names, hidden or unknown fields and bad operators; never created as an sObject."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest

from crm_sandbox.salesforce.server import SalesforceSandbox, running_salesforce

VIEW = {
    "listViewApiName": "Needs_Review",
    "label": "Needs review",
    "filteredByInfo": [{"fieldApiName": "DoNotCall", "operandLabels": ["True"], "operator": "Equals"}],
    "displayColumns": ["Name", "Email"],
    "visibility": "Public",
}


@pytest.fixture
def sandbox() -> Iterator[SalesforceSandbox]:
    with running_salesforce(contacts=10, seed=2) as running:
        yield running


def call(sandbox: SalesforceSandbox, method: str, path: str, body: Any = None, version: str = "61.0") -> Any:
    url = f"{sandbox.base_url}/services/data/v{version}/ui-api/list-info/{path}"
    headers = {"Authorization": f"Bearer {sandbox.token}"}
    return requests.request(method, url, json=body, headers=headers, timeout=10)


def error_code(response: Any) -> str:
    return str(response.json()[0]["errorCode"])


def test_a_list_view_is_created_read_and_deleted_by_its_api_name(sandbox: SalesforceSandbox) -> None:
    created = call(sandbox, "POST", "Contact", VIEW)
    assert created.status_code == 201
    reference = created.json()["listReference"]
    assert reference["listViewApiName"] == "Needs_Review" and reference["id"].startswith("00B")
    read = call(sandbox, "GET", "Contact/Needs_Review").json()
    assert [c["fieldApiName"] for c in read["displayColumns"]] == ["Name", "Email"]
    assert call(sandbox, "GET", "Lead/Needs_Review").status_code == 404, "list views belong to one object"
    assert call(sandbox, "DELETE", "Contact/Needs_Review").status_code == 204
    assert call(sandbox, "GET", "Contact/Needs_Review").status_code == 404
    assert call(sandbox, "DELETE", "Contact/Needs_Review").status_code == 404


def test_what_an_org_refuses_the_sandbox_refuses(sandbox: SalesforceSandbox) -> None:
    assert call(sandbox, "POST", "Contact", VIEW, version="60.0").status_code == 404
    assert call(sandbox, "POST", "Contact", VIEW).status_code == 201
    duplicate = call(sandbox, "POST", "Contact", VIEW)
    assert duplicate.status_code == 400 and error_code(duplicate) == "DUPLICATE_DEVELOPER_NAME"
    other = {**VIEW, "listViewApiName": "Other"}
    hidden = {**other, "filteredByInfo": [{"fieldApiName": "Lawful_Use_Review__c", "operandLabels": ["True"],
                                           "operator": "Equals"}]}  # fmt: skip
    assert error_code(call(sandbox, "POST", "Contact", hidden)) == "INVALID_FIELD", "not installed: no field"
    sandbox.state.store.restrict("Contact", "DoNotCall")
    assert error_code(call(sandbox, "POST", "Contact", other)) == "INVALID_FIELD", "hidden by FLS"
    sandbox.state.store.unrestrict("Contact", "DoNotCall")
    wrong = {**other, "filteredByInfo": [{"fieldApiName": "DoNotCall", "operandLabels": ["yes"],
                                          "operator": "Equals"}]}  # fmt: skip
    assert error_code(call(sandbox, "POST", "Contact", wrong)) == "INVALID_INPUT"
    operator = {
        **other,
        "filteredByInfo": [{"fieldApiName": "Email", "operandLabels": ["x"], "operator": "Like"}],
    }
    assert error_code(call(sandbox, "POST", "Contact", operator)) == "INVALID_INPUT"


def test_a_list_view_is_never_an_sobject_create(sandbox: SalesforceSandbox) -> None:
    sf = Salesforce(instance_url=sandbox.base_url, session_id=sandbox.token, session=sandbox.session())
    with pytest.raises(SalesforceMalformedRequest) as refused:
        sf.ListView.create({"Name": "x", "DeveloperName": "x", "SobjectType": "Contact"})
    assert refused.value.content[0]["errorCode"] == "INVALID_TYPE_FOR_OPERATION"
