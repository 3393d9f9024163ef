"""Installing the connector's own contact properties in the group ``lawful_crm``, and removing them.

The review queue: a contact list ``Lawful use: review needed`` (Lists API v3, a DYNAMIC list filtered on the
review property being true) where admins find the contacts to look at; created when missing, left alone when a
list of that name exists, deleted on uninstall (before the property it filters on is archived).

``definitions`` (pure) says what the mapping's write-back needs, from the own-fields table: yes/no checkboxes,
the ``lawful_use`` category (one option per canonical value), the reason text and the time of the last check.
``Installer`` compares that with what the portal has: what is missing is created, what exists is left alone
(a 409 from a concurrent install counts as existing), and a property of the same name that differs in type,
lacks options or sits archived is reported as a problem, never changed. A dry run only reads. Uninstall
archives the properties, then the group (HubSpot keeps archived properties for 90 days).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from connector.crm.hubspot.records import OBJECT_TYPE
from connector.crm.hubspot.session import HubSpotSession
from connector.crm.hubspot.translate import RequestRejected
from connector.crm.port import InstallReport
from connector.mapping.own_fields import OWN_FIELDS, FieldKind, OwnField, field_names
from connector.mapping.schema import WriteBack

__all__ = ["GROUP", "REVIEW_LIST", "Installer", "PropertySpec", "definitions"]

log = logging.getLogger("lawful_crm.hubspot")
GROUP = "lawful_crm"
GROUP_LABEL = "Lawful use (lawful-crm)"
REVIEW_LIST = "Lawful use: review needed"
CONTACT_TYPE_ID = "0-1"
OWNED = " Set by lawful-crm on every sync; edits here are overwritten."
YES_NO = [
    {"label": "Yes", "value": "true", "displayOrder": 0, "hidden": False},
    {"label": "No", "value": "false", "displayOrder": 1, "hidden": False},
]


@dataclass(frozen=True, slots=True)
class PropertySpec:
    """One property the connector needs, as the properties API creates it."""

    name: str
    label: str
    type: str
    field_type: str
    description: str
    options: list[dict[str, Any]] = field(default_factory=list)

    def body(self) -> dict[str, Any]:
        """The ``PropertyCreate`` body."""
        body: dict[str, Any] = {
            "name": self.name,
            "label": self.label,
            "type": self.type,
            "fieldType": self.field_type,
            "groupName": GROUP,
            "description": self.description,
            "formField": False,
        }
        if self.options:
            body["options"] = self.options
        return body


_TYPES = {
    FieldKind.CHECKBOX: ("bool", "booleancheckbox"),
    FieldKind.PICKLIST: ("enumeration", "select"),
    FieldKind.TEXT: ("string", "text"),
    FieldKind.DATETIME: ("datetime", "date"),
}


def _options(field: OwnField) -> list[dict[str, Any]]:
    if field.kind is FieldKind.CHECKBOX:
        return [dict(o) for o in YES_NO]
    return [
        {"label": label, "value": value, "displayOrder": i, "hidden": False}
        for i, (value, label) in enumerate(field.options)
    ]


def definitions(writeback: WriteBack) -> list[PropertySpec]:
    """The properties the write-back of a mapping needs, named as it names them."""
    names = field_names(writeback)
    return [
        PropertySpec(names[field.role], field.label, *_TYPES[field.kind], field.help + OWNED, _options(field))
        for field in OWN_FIELDS
    ]


class Installer:
    """Creates or archives the group and properties through one session."""

    def __init__(self, session: HubSpotSession, writeback: WriteBack) -> None:
        self.session = session
        self.specs = definitions(writeback)
        self.review_property = writeback.review

    def run(self, *, dry_run: bool, uninstall: bool) -> InstallReport:
        """Install or uninstall; item names are ``group:<name>`` and ``property:<name>``.

        In a dry run ``created``/``removed`` list what would be created or removed, and nothing is written.
        """
        live = {p.name: p for p in self._properties(archived=False)}
        groups = {g.name for g in self._groups()}
        if uninstall:
            return self._uninstall(live, groups, dry_run=dry_run)
        archived = {p.name for p in self._properties(archived=True)}
        created: list[str] = []
        unchanged: list[str] = []
        problems: list[str] = []
        if GROUP in groups:
            unchanged.append(f"group:{GROUP}")
        else:
            if not dry_run:
                self._create_group()
            created.append(f"group:{GROUP}")
        for spec in self.specs:
            item = f"property:{spec.name}"
            if spec.name in live:
                problem = _difference(spec, live[spec.name])
                (problems if problem else unchanged).append(problem or item)
            elif spec.name in archived:
                problems.append(
                    f"{item} is archived in HubSpot: restore it (Settings > Properties) and install again"
                )
            elif dry_run or self._create(spec):
                created.append(item)
            else:
                unchanged.append(item)
        item = f"list:{REVIEW_LIST}"
        if self._review_list() is not None:
            unchanged.append(item)
        elif f"property:{self.review_property}" not in (*created, *unchanged):
            problems.append(f"{item} needs the property {self.review_property}, which is not installed")
        else:
            if not dry_run:
                self._create_review_list()
            created.append(item)
        log.info(
            "hubspot install: %d %s, %d unchanged, %d problems",
            len(created),
            "to create (dry run)" if dry_run else "created",
            len(unchanged),
            len(problems),
        )
        return InstallReport(created=tuple(created), unchanged=tuple(unchanged), problems=tuple(problems))

    def _uninstall(self, live: dict[str, Any], groups: set[str], *, dry_run: bool) -> InstallReport:
        removed: list[str] = []
        unchanged: list[str] = []
        review = self._review_list()
        if review is None:
            unchanged.append(f"list:{REVIEW_LIST}")
        else:
            if not dry_run:
                self.session.call(
                    "lists.remove",
                    self.session.apis.lists.remove_with_http_info,
                    list_id=str(review["listId"]),
                )
            removed.append(f"list:{REVIEW_LIST}")
        for spec in self.specs:
            item = f"property:{spec.name}"
            if spec.name not in live or getattr(live[spec.name], "group_name", GROUP) != GROUP:
                unchanged.append(item)
                continue
            if not dry_run:
                self.session.call(
                    "properties.archive",
                    self.session.apis.properties.archive_with_http_info,
                    object_type=OBJECT_TYPE,
                    property_name=spec.name,
                )
            removed.append(item)
        if GROUP in groups:
            if not dry_run:
                self.session.call(
                    "groups.archive",
                    self.session.apis.groups.archive_with_http_info,
                    object_type=OBJECT_TYPE,
                    group_name=GROUP,
                )
            removed.append(f"group:{GROUP}")
        else:
            unchanged.append(f"group:{GROUP}")
        log.info("hubspot uninstall: %d removed", len(removed))
        return InstallReport(removed=tuple(removed), unchanged=tuple(unchanged))

    def _review_list(self) -> dict[str, Any] | None:
        """The review list as HubSpot holds it, or None when there is none."""
        try:
            answer = self.session.call(
                "lists.get_by_name",
                self.session.apis.lists.get_by_name_with_http_info,
                raw=True,
                list_name=REVIEW_LIST,
                object_type_id=CONTACT_TYPE_ID,
            )
        except RequestRejected as exc:
            if exc.status != 404:
                raise
            return None
        found = answer.get("list")
        return found if isinstance(found, dict) else None

    def _create_review_list(self) -> None:
        """A DYNAMIC contact list of the contacts whose review property is true (400 for a name taken
        meanwhile counts as existing)."""
        review = {"filterType": "PROPERTY", "property": self.review_property,
                  "operation": {"operationType": "BOOL", "operator": "IS_EQUAL_TO", "value": True}}  # fmt: skip
        branch = {"filterBranchType": "AND", "filterBranchOperator": "AND", "filters": [review],
                  "filterBranches": []}  # fmt: skip
        root = {
            "filterBranchType": "OR",
            "filterBranchOperator": "OR",
            "filters": [],
            "filterBranches": [branch],
        }
        body = {"name": REVIEW_LIST, "objectTypeId": CONTACT_TYPE_ID, "processingType": "DYNAMIC",
                "filterBranch": root}  # fmt: skip
        try:
            self.session.call(
                "lists.create",
                self.session.apis.lists.create_with_http_info,
                raw=True,
                list_create_request=body,
            )
        except RequestRejected as exc:
            if exc.status != 400 or self._review_list() is None:
                raise

    def _properties(self, *, archived: bool) -> list[Any]:
        answer = self.session.call(
            "properties.list",
            self.session.apis.properties.get_all_with_http_info,
            object_type=OBJECT_TYPE,
            archived=archived,
        )
        return list(answer.results or ())

    def _groups(self) -> list[Any]:
        answer = self.session.call(
            "groups.list", self.session.apis.groups.get_all_with_http_info, object_type=OBJECT_TYPE
        )
        return list(answer.results or ())

    def _create_group(self) -> None:
        try:
            self.session.call(
                "groups.create",
                self.session.apis.groups.create_with_http_info,
                object_type=OBJECT_TYPE,
                property_group_create={"name": GROUP, "label": GROUP_LABEL, "displayOrder": -1},
            )
        except RequestRejected as exc:
            if exc.status != 409:
                raise

    def _create(self, spec: PropertySpec) -> bool:
        """Create one property; False when it already existed (409: created meanwhile)."""
        try:
            self.session.call(
                "properties.create",
                self.session.apis.properties.create_with_http_info,
                object_type=OBJECT_TYPE,
                property_create=spec.body(),
            )
        except RequestRejected as exc:
            if exc.status != 409:
                raise
            return False
        return True


def _difference(spec: PropertySpec, existing: Any) -> str | None:
    """A problem text when an existing property cannot hold what the connector writes, else None."""
    item = f"property:{spec.name}"
    if (existing.type, existing.field_type) != (spec.type, spec.field_type):
        return (
            f"{item} exists as {existing.type}/{existing.field_type}, expected {spec.type}/{spec.field_type}"
        )
    if spec.type == "enumeration":
        have = {getattr(o, "value", None) for o in existing.options or ()}
        missing = [o["value"] for o in spec.options if o["value"] not in have]
        if missing:
            return f"{item} lacks the options {', '.join(missing)}"
    return None
