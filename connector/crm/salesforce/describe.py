"""Describe and value counts: what fields the org has, which the integration user may write, what values occur.

`describe` merges the object's own fields with the parent fields the mapping reads (`Account.Type` from the
Account describe), keyed by the mapping's spelling; `Last_Won_Close_Date`, which the adapter computes, is
described as a read-only date. When the mapping reads consent records, `@data_use_purposes` lists the org's
data use purposes (one query). Describe answers are cached per adapter (cleared after an install).
`value_counts` is one aggregate query: `SELECT field, COUNT(Id) FROM object GROUP BY field`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import partial
from typing import Any

from simple_salesforce.api import Salesforce

from connector.crm.port import FieldInfo
from connector.crm.salesforce import soql
from connector.crm.salesforce.connection import Connection
from connector.crm.salesforce.fields import WON_DEAL_FIELD, object_fields, scope
from connector.crm.salesforce.query import all_rows
from connector.crm.salesforce.records import value_at
from connector.errors import ConfigurationError, CrmContractError
from connector.mapping.consent_records import DATA_USE_PURPOSES
from connector.mapping.schema import MappingFile

__all__ = ["Describer"]

_PICKLISTS = frozenset({"picklist", "multipicklist", "combobox"})


def _info(name: str, field: Mapping[str, Any]) -> FieldInfo:
    values = None
    if field.get("type") in _PICKLISTS:
        values = tuple(
            str(item["value"]) for item in field.get("picklistValues") or [] if item.get("active", True)
        )
    return FieldInfo(name, str(field.get("type")), writable=bool(field.get("updateable")), values=values)


def _describe(client: Salesforce, *, sobject: str) -> Any:
    return client.restful(f"sobjects/{sobject}/describe")


class Describer:
    """Describe calls of one adapter, cached per object."""

    def __init__(self, connection: Connection, mapping: MappingFile) -> None:
        self.connection, self.mapping = connection, mapping
        self._fields: dict[str, dict[str, Mapping[str, Any]]] = {}
        self._purposes: tuple[str, ...] | None = None

    def forget(self) -> None:
        """Drop cached describes (fields or permissions changed)."""
        self._fields.clear()
        self._purposes = None

    def raw_fields(self, sobject: str) -> dict[str, Mapping[str, Any]]:
        """The describe `fields` of an object, by lower-cased name."""
        key = sobject.lower()
        if key not in self._fields:
            try:
                described = self.connection.call(
                    f"describe {sobject}", partial(_describe, sobject=soql.name(sobject))
                )
            except CrmContractError:
                raise ConfigurationError(
                    f"Salesforce has no {sobject} object the integration user can see"
                ) from None
            if not isinstance(described, Mapping) or not isinstance(described.get("fields"), list):
                raise CrmContractError(f"Salesforce answered describe {sobject} in an unexpected shape")
            self._fields[key] = {str(field["name"]).lower(): field for field in described["fields"]}
        return self._fields[key]

    def field(self, sobject: str, path: str) -> Mapping[str, Any] | None:
        """The describe entry of `Field` or `Relationship.Field`, or None when the user cannot see it."""
        relation, _, name = path.rpartition(".")
        if not relation:
            return self.raw_fields(sobject).get(path.lower())
        if "." in relation:
            return None
        reference = next(
            (
                field
                for field in self.raw_fields(sobject).values()
                if str(field.get("relationshipName") or "").lower() == relation.lower()
            ),
            None,
        )
        targets = reference.get("referenceTo") if reference else None
        if not targets:
            return None
        return self.raw_fields(str(targets[0])).get(name.lower())

    def describe(self, object_type: str) -> dict[str, FieldInfo]:
        """The object's fields plus the mapped parent fields and the computed won-deal date."""
        fields = object_fields(self.mapping, object_type)
        described = {
            str(field["name"]): _info(str(field["name"]), field)
            for field in self.raw_fields(object_type).values()
        }
        for path in fields.read:
            if "." in path and (field := self.field(object_type, path)) is not None:
                described[path] = _info(path, field)
        if fields.won_deals:
            described[WON_DEAL_FIELD] = FieldInfo(WON_DEAL_FIELD, "date", writable=False)
        if fields.consents and (purposes := self.purposes()) is not None:
            described[DATA_USE_PURPOSES] = FieldInfo(
                DATA_USE_PURPOSES, "picklist", writable=False, values=purposes
            )
        return described

    def purposes(self) -> tuple[str, ...] | None:
        """The names of the org's data use purposes; None when the org has none the user can read."""
        if self._purposes is None:
            statement = soql.select(("Name",), "DataUsePurpose", order_by=("Name",))
            try:
                rows = self.connection.call("query DataUsePurpose", partial(all_rows, statement=statement))
            except (ConfigurationError, CrmContractError):
                return None
            self._purposes = tuple(str(value_at(row, "Name")) for row in rows if value_at(row, "Name"))
        return self._purposes

    def unreadable(self, object_type: str, paths: Sequence[str]) -> list[str]:
        """The paths the integration user cannot read (missing, or hidden by field-level security), described afresh."""
        self.forget()
        return [path for path in paths if path != WON_DEAL_FIELD and self.field(object_type, path) is None]

    def unwritable(self, object_type: str, names: Sequence[str]) -> list[str]:
        """The fields the integration user cannot update, described afresh."""
        self.forget()
        return [name for name in names if not (self.field(object_type, name) or {}).get("updateable")]

    def value_counts(self, object_type: str, field: str) -> dict[str, int]:
        """How many records hold each non-empty value of `field` (none for the computed won-deal date)."""
        if field == WON_DEAL_FIELD:
            return {}
        statement = soql.select(
            (f"{soql.name(field)} fieldValue", "COUNT(Id) recordCount"), soql.name(object_type),
            where=scope(object_type), group_by=(field,),
        )  # fmt: skip
        rows = self.connection.call(f"count {object_type} values", partial(all_rows, statement=statement))
        counts: dict[str, int] = {}
        for row in rows:
            value, count = value_at(row, "fieldValue"), value_at(row, "recordCount")
            if value is None or value == "" or not isinstance(count, int):
                continue
            text = ("true" if value else "false") if isinstance(value, bool) else str(value)
            counts[text] = counts.get(text, 0) + count
        return counts
