"""The review queue where admins work: a list view "Lawful use: review needed" on each mapped object.

Created by `lawful-crm install` through the User Interface API (`ui-api/list-info/{Object}`, API 61.0 and
later; asked at that version when the configured one is older), filtered on the review field being true and
showing the name, the e-mail, the lawful use and its reason. Install reads it first (`GET …/{apiName}`, 404
when absent) and creates only what is missing; uninstall deletes it before the fields it filters on.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from simple_salesforce.api import Salesforce
from simple_salesforce.exceptions import SalesforceResourceNotFound

from connector.crm.salesforce.connection import Connection
from connector.errors import ConfigurationError, CrmContractError
from connector.mapping.schema import WriteBack

__all__ = ["LIST_VIEW_API_NAME", "LIST_VIEW_LABEL", "ReviewQueue", "list_info_input"]

LIST_VIEW_API_NAME = "Lawful_Use_Review_Needed"
LIST_VIEW_LABEL = "Lawful use: review needed"
UI_API_VERSION = (61, 0)


def list_info_input(writeback: WriteBack) -> dict[str, Any]:
    """The List Info Post Input of the review queue (pure)."""
    return {
        "listViewApiName": LIST_VIEW_API_NAME,
        "label": LIST_VIEW_LABEL,
        "filteredByInfo": [
            {"fieldApiName": writeback.review, "operandLabels": ["True"], "operator": "Equals"}
        ],
        "displayColumns": ["Name", "Email", writeback.lawful_use, writeback.reason, writeback.checked],
        "visibility": "Public",
    }


def _url(client: Salesforce, api_version: str, path: str) -> str:
    """A UI API URL at the configured version, or at 61.0 when that is older (the resource's first)."""
    major, _, minor = api_version.partition(".")
    wanted = max((int(major), int(minor or 0)), UI_API_VERSION)
    root = client.base_url.rstrip("/").rsplit("/v", 1)[0]
    return f"{root}/v{wanted[0]}.{wanted[1]}/ui-api/list-info/{path}"


def _call(client: Salesforce, *, method: str, url: str, body: Any = None) -> Any:
    """One UI API request: the JSON answer, None for 204 or for a list view that does not exist (404)."""
    try:
        response = client._call_salesforce(method, url, name="ui-api list-info", json=body)
    except SalesforceResourceNotFound:
        return None
    return None if response.status_code == 204 else response.json()


class ReviewQueue:
    """Reads, creates and deletes the review queue's list views of one org."""

    def __init__(self, connection: Connection, writeback: WriteBack, *, api_version: str) -> None:
        self.connection, self.writeback, self.api_version = connection, writeback, api_version

    def _request(self, action: str, method: str, path: str, body: Any = None) -> Any:
        def operation(client: Salesforce) -> Any:
            return _call(client, method=method, url=_url(client, self.api_version, path), body=body)

        return self.connection.call(action, operation)

    def exists(self, object_type: str) -> bool:
        """Whether the object has the review queue list view."""
        found = self._request(
            f"read list view of {object_type}", "GET", f"{object_type}/{LIST_VIEW_API_NAME}"
        )
        return found is not None

    def create(self, object_type: str) -> None:
        """Create the object's review queue list view."""
        created = self._request(
            f"create list view of {object_type}", "POST", object_type, list_info_input(self.writeback)
        )
        if not isinstance(created, dict) or not isinstance(created.get("listReference"), dict):
            raise CrmContractError("Salesforce answered the creation of a list view in an unexpected shape")

    def delete(self, object_type: str) -> None:
        """Delete the object's review queue list view (nothing when it is gone already)."""
        self._request(f"delete list view of {object_type}", "DELETE", f"{object_type}/{LIST_VIEW_API_NAME}")

    def item(self, object_type: str) -> str:
        """How install reports the object's list view."""
        return f"list view '{LIST_VIEW_LABEL}' on {object_type}"

    def steps(self, object_types: list[str]) -> list[tuple[str, Callable[[], bool], Callable[[], None]]]:
        """(report item, exists, create) per object, for the installer."""
        return [
            (self.item(kind), partial(self.exists, kind), partial(self.create, kind)) for kind in object_types
        ]


Refusals = (ConfigurationError, CrmContractError)
"""What a refused list-view call raises (reported as an install problem, never a stop)."""
