"""Every row of one SOQL statement: the first batch, then each `nextRecordsUrl` until Salesforce says done."""

from __future__ import annotations

from typing import Any

from simple_salesforce.api import Salesforce

__all__ = ["all_rows"]


def all_rows(client: Salesforce, *, statement: str, include_deleted: bool = False) -> list[dict[str, Any]]:
    """The statement's rows, following nextRecordsUrl when Salesforce sends a smaller batch; `include_deleted`
    asks `queryAll`, which also returns deleted rows (IsDeleted = true)."""
    result = client.query(statement, include_deleted=include_deleted)
    rows: list[dict[str, Any]] = list(result["records"])
    while not result.get("done", True):
        result = client.query_more(result["nextRecordsUrl"], identifier_is_url=True)
        rows.extend(result["records"])
    return rows
