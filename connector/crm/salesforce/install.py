"""`lawful-crm install`: the connector's fields, a permission set granting edit access, its assignment, and
the review queue (a list view "Lawful use: review needed" per mapped object, `list_views.py`).

A field created through the Tooling API has no field-level security, so install also creates the permission set
`Lawful_CRM_Integration` with edit FieldPermissions on every field and assigns it to the integration user. It
reads what exists first and creates only what is missing: a second run creates nothing and reports every item
unchanged. A dry run reads only and reports what it would create (or remove). Uninstall removes the list views,
the assignments, the permission set (its field permissions go with it) and the fields, with their values.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from simple_salesforce.api import Salesforce

from connector.crm.port import InstallReport
from connector.crm.salesforce import soql
from connector.crm.salesforce.connection import Connection
from connector.crm.salesforce.definitions import (
    PERMISSION_SET,
    PERMISSION_SET_LABEL,
    FieldDefinition,
    field_definitions,
)
from connector.crm.salesforce.list_views import Refusals, ReviewQueue
from connector.errors import ConfigurationError, CrmContractError, RecordGoneError
from connector.mapping.schema import MappingFile

__all__ = ["Installer"]

log = logging.getLogger("lawful_crm.salesforce")
_PERMISSION_SET_ITEM = f"permission set {PERMISSION_SET}"


@dataclass(slots=True)
class _Org:
    """What of the connector's setup the org already has."""

    fields: dict[str, str] = field(default_factory=dict)
    """Lower-cased `Object.Field__c` -> CustomField id."""
    permission_set: str | None = None
    grants: dict[str, tuple[str, bool]] = field(default_factory=dict)
    """Lower-cased `Object.Field__c` -> (FieldPermissions id, edit granted)."""
    assignments: dict[str, str] = field(default_factory=dict)
    """Assignee user id -> PermissionSetAssignment id."""
    user_id: str | None = None


@dataclass(slots=True)
class _Report:
    created: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def freeze(self) -> InstallReport:
        return InstallReport(
            tuple(self.created), tuple(self.unchanged), tuple(self.removed), tuple(self.problems)
        )


def _grant_item(definition: FieldDefinition) -> str:
    return f"edit permission on {definition.full_name} ({PERMISSION_SET})"


def _rows(client: Salesforce, *, statement: str, tooling: bool = False) -> list[dict[str, Any]]:
    result = client.toolingexecute("query/", params={"q": statement}) if tooling else client.query(statement)
    if not isinstance(result, dict) or not isinstance(result.get("records"), list):
        raise CrmContractError("Salesforce answered a setup query in an unexpected shape")
    return list(result["records"])


def _rest(client: Salesforce, *, path: str, method: str, body: Any = None) -> Any:
    return client.restful(path, method=method, json=body)


def _tooling(client: Salesforce, *, path: str, method: str, body: dict[str, Any] | None = None) -> Any:
    return client.toolingexecute(path, method=method, data=body)


class Installer:
    """Creates or removes the connector's setup in one org (see module docstring)."""

    def __init__(
        self,
        connection: Connection,
        mapping: MappingFile,
        *,
        username: str | None,
        on_change: Callable[[], None],
        queue: ReviewQueue | None = None,
    ) -> None:
        self.queue = queue
        self.connection, self.mapping, self.username, self.on_change = (
            connection,
            mapping,
            username,
            on_change,
        )

    def run(self, *, dry_run: bool, uninstall: bool) -> InstallReport:
        report = _Report()
        definitions = self._definitions(report)
        org = self._read(definitions)
        if uninstall:
            self._uninstall(org, definitions, report, dry_run=dry_run)
        else:
            self._install(org, definitions, report, dry_run=dry_run)
        if not dry_run:
            self.on_change()
        log.info(
            "install%s: %d created, %d unchanged, %d removed, %d problems", " (dry run: would be)" if dry_run else "",
            len(report.created), len(report.unchanged), len(report.removed), len(report.problems),
        )  # fmt: skip
        return report.freeze()

    # -- reading ---------------------------------------------------------------------------------------------
    def _definitions(self, report: _Report) -> list[FieldDefinition]:
        definitions = []
        for definition in field_definitions(self.mapping):
            if definition.name.endswith("__c"):
                definitions.append(definition)
            else:
                report.problems.append(f"{definition.full_name}: not a custom field (__c); not created")
        return definitions

    def _query(self, statement: str, *, tooling: bool = False) -> list[dict[str, Any]]:
        return self.connection.call("read the setup", partial(_rows, statement=statement, tooling=tooling))

    def _read(self, definitions: list[FieldDefinition]) -> _Org:
        org = _Org()
        objects = sorted({definition.object_type for definition in definitions})
        names = sorted({definition.name[:-3] for definition in definitions})
        if definitions:
            statement = soql.select(
                ("Id", "DeveloperName", "TableEnumOrId"), "CustomField",
                where=(f"TableEnumOrId IN {_quoted(objects)}", f"DeveloperName IN {_quoted(names)}",
                       "NamespacePrefix = null"),
            )  # fmt: skip
            for row in self._query(statement, tooling=True):
                org.fields[f"{row['TableEnumOrId']}.{row['DeveloperName']}__c".lower()] = str(row["Id"])
        statement = f"SELECT Id FROM PermissionSet WHERE Name = {soql.string_literal(PERMISSION_SET)}"
        found = self._query(statement)
        org.permission_set = str(found[0]["Id"]) if found else None
        if org.permission_set is not None:
            parent = soql.string_literal(org.permission_set)
            for row in self._query(
                f"SELECT Id, Field, PermissionsEdit FROM FieldPermissions WHERE ParentId = {parent}"
            ):
                org.grants[str(row["Field"]).lower()] = (str(row["Id"]), bool(row["PermissionsEdit"]))
            for row in self._query(
                f"SELECT Id, AssigneeId FROM PermissionSetAssignment WHERE PermissionSetId = {parent}"
            ):
                org.assignments[str(row["AssigneeId"])] = str(row["Id"])
        org.user_id = self._user_id()
        return org

    def _user_id(self) -> str | None:
        """The integration user: the token's own user (Chatter), else the configured username."""
        try:
            if (user_id := self.connection.token_user_id()) is not None:
                return user_id
        except (CrmContractError, ConfigurationError):
            pass
        if self.username:
            rows = self._query(f"SELECT Id FROM User WHERE Username = {soql.string_literal(self.username)}")
            return str(rows[0]["Id"]) if rows else None
        return None

    # -- installing ------------------------------------------------------------------------------------------
    def _install(
        self, org: _Org, definitions: list[FieldDefinition], report: _Report, *, dry_run: bool
    ) -> None:
        usable = []
        for definition in definitions:
            if definition.full_name.lower() in org.fields:
                report.unchanged.append(definition.full_name)
                usable.append(definition)
            elif self._attempt(
                report, definition.full_name, partial(self._create_field, definition), dry_run=dry_run
            ):
                usable.append(definition)
        if org.permission_set is not None:
            report.unchanged.append(_PERMISSION_SET_ITEM)
        elif not self._attempt(
            report, _PERMISSION_SET_ITEM, partial(self._create_permission_set, org), dry_run=dry_run
        ):
            return
        self._grant(org, usable, report, dry_run=dry_run)
        item = f"assignment of {PERMISSION_SET} to the integration user"
        if org.user_id is None:
            report.problems.append(
                f"{item}: the integration user was not found; assign the permission set by hand"
            )
        elif org.user_id in org.assignments:
            report.unchanged.append(item)
        else:
            body = {"AssigneeId": org.user_id, "PermissionSetId": org.permission_set}
            self._attempt(
                report, item, partial(self._create, "PermissionSetAssignment", body), dry_run=dry_run
            )
        self._review_queue(report, dry_run=dry_run)

    def _remove_review_queue(self, report: _Report, *, dry_run: bool) -> None:
        queue = self.queue
        if queue is None:
            return
        for object_type in self.mapping.objects:
            item = queue.item(object_type)
            try:
                present = queue.exists(object_type)
                if present and not dry_run:
                    queue.delete(object_type)
            except Refusals as exc:
                report.problems.append(f"{item}: {exc}")
                continue
            (report.removed if present else report.unchanged).append(item)

    def _review_queue(self, report: _Report, *, dry_run: bool) -> None:
        """The list views of the review queue, after the review field and its permission exist."""
        if self.queue is None:
            return
        for item, exists, create in self.queue.steps(list(self.mapping.objects)):
            try:
                present = exists()
            except Refusals as exc:
                report.problems.append(f"{item}: {exc}")
                continue
            if present:
                report.unchanged.append(item)
            else:
                self._attempt(report, item, create, dry_run=dry_run)

    def _attempt(self, report: _Report, item: str, action: Callable[[], object], *, dry_run: bool) -> bool:
        """Run one creation (unless dry) and report it; a refusal becomes a problem, not a stop."""
        if not dry_run:
            try:
                action()
            except (CrmContractError, ConfigurationError) as exc:
                report.problems.append(f"{item}: {exc}")
                return False
        report.created.append(item)
        return True

    def _create(self, sobject: str, body: dict[str, Any]) -> str:
        created = self.connection.call(
            f"create {sobject}", partial(_rest, path=f"sobjects/{sobject}", method="POST", body=body)
        )
        if not isinstance(created, dict) or not created.get("id"):
            raise CrmContractError(f"Salesforce answered the creation of a {sobject} without an id")
        return str(created["id"])

    def _create_field(self, definition: FieldDefinition) -> None:
        body = {"FullName": definition.full_name, "Metadata": definition.metadata}
        created = self.connection.call(
            "create CustomField", partial(_tooling, path="sobjects/CustomField", method="POST", body=body)
        )
        if not isinstance(created, dict) or not created.get("success"):
            raise CrmContractError("Salesforce answered the creation of a CustomField without success")

    def _create_permission_set(self, org: _Org) -> None:
        body = {
            "Name": PERMISSION_SET,
            "Label": PERMISSION_SET_LABEL,
            "Description": "Edit access to the fields lawful-crm writes.",
        }
        org.permission_set = self._create("PermissionSet", body)

    def _grant(
        self, org: _Org, definitions: list[FieldDefinition], report: _Report, *, dry_run: bool
    ) -> None:
        """Create missing edit FieldPermissions and turn on edit where only read was granted (one call each)."""
        creates, updates = [], []
        for definition in definitions:
            grant = org.grants.get(definition.full_name.lower())
            if grant is not None and grant[1]:
                report.unchanged.append(_grant_item(definition))
            elif grant is not None:
                updates.append((definition, {"attributes": {"type": "FieldPermissions"}, "id": grant[0],
                                             "PermissionsRead": True, "PermissionsEdit": True}))  # fmt: skip
            else:
                creates.append((definition, {"attributes": {"type": "FieldPermissions"}, "ParentId": org.permission_set,
                                             "SobjectType": definition.object_type, "Field": definition.full_name,
                                             "PermissionsRead": True, "PermissionsEdit": True}))  # fmt: skip
        for method, batch in (("POST", creates), ("PATCH", updates)):
            if not batch:
                continue
            if dry_run:
                report.created.extend(_grant_item(definition) for definition, _ in batch)
                continue
            body = {"allOrNone": False, "records": [record for _, record in batch]}
            results = self.connection.call(
                "grant field permissions", partial(_rest, path="composite/sobjects", method=method, body=body)
            )
            self._report_results(report, [_grant_item(definition) for definition, _ in batch], results)

    @staticmethod
    def _report_results(report: _Report, items: list[str], results: Any) -> None:
        if not isinstance(results, list) or len(results) != len(items):
            raise CrmContractError("Salesforce answered a collection with the wrong number of results")
        for item, result in zip(items, results, strict=True):
            if isinstance(result, dict) and result.get("success"):
                report.created.append(item)
            else:
                errors = result.get("errors") if isinstance(result, dict) else None
                code = (
                    errors[0].get("statusCode")
                    if errors and isinstance(errors[0], dict)
                    else "UNKNOWN_EXCEPTION"
                )
                report.problems.append(f"{item}: refused ({code})")

    # -- uninstalling ----------------------------------------------------------------------------------------
    def _uninstall(
        self, org: _Org, definitions: list[FieldDefinition], report: _Report, *, dry_run: bool
    ) -> None:
        self._remove_review_queue(report, dry_run=dry_run)  # before the review field it filters on
        if org.permission_set is None:
            report.unchanged.append(_PERMISSION_SET_ITEM)
        else:
            for assignee, assignment in sorted(org.assignments.items()):
                who = "the integration user" if assignee == org.user_id else f"user {assignee}"
                path = f"sobjects/PermissionSetAssignment/{assignment}"
                self._remove(report, f"assignment of {PERMISSION_SET} to {who}", dry_run=dry_run, path=path)
            path = f"sobjects/PermissionSet/{org.permission_set}"
            self._remove(report, _PERMISSION_SET_ITEM, dry_run=dry_run, path=path)
            report.removed.extend(
                _grant_item(definition)
                for definition in definitions
                if definition.full_name.lower() in org.grants
            )
        for definition in definitions:
            field_id = org.fields.get(definition.full_name.lower())
            if field_id is None:
                report.unchanged.append(definition.full_name)
            else:
                path = f"sobjects/CustomField/{field_id}"
                self._remove(report, definition.full_name, dry_run=dry_run, path=path, tooling=True)

    def _remove(self, report: _Report, item: str, *, dry_run: bool, path: str, tooling: bool = False) -> None:
        if not dry_run:
            call = _tooling if tooling else _rest
            with contextlib.suppress(RecordGoneError):  # removed meanwhile: the goal is reached
                self.connection.call(
                    f"remove {path.split('/')[1]}", partial(call, path=path, method="DELETE")
                )
        report.removed.append(item)


def _quoted(values: Iterable[str]) -> str:
    return "(" + ",".join(soql.string_literal(value) for value in values) + ")"
