"""HubSpot property definitions: standard ones relevant to lawful use, custom ones created through the API.

The registry validates property *definitions* (create: 201, duplicate: 409 — also while a property of that name
sits archived in the recycle bin —, bad type/fieldType: 400; archive: custom properties and empty groups) and
property *values* on write (unknown property, read-only value, enumeration option, bool, number, date), and
renders definitions in the exact shape the SDK's ``ModelProperty`` and ``PropertyGroup`` models expect.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from connector.models import SourceKind

TYPES_FIELD_TYPES: dict[str, frozenset[str]] = {
    "bool": frozenset({"booleancheckbox", "calculation_equation"}),
    "enumeration": frozenset({"select", "radio", "checkbox", "booleancheckbox"}),
    "string": frozenset({"text", "textarea", "html", "phonenumber", "file"}),
    "number": frozenset({"number"}),
    "date": frozenset({"date"}),
    "datetime": frozenset({"date"}),
    "phone_number": frozenset({"phonenumber"}),
}

LEGAL_BASIS = (
    "Legitimate interest – prospect/lead",
    "Legitimate interest – existing customer",
    "Legitimate interest - other",
    "Performance of a contract",
    "Freely given consent from contact",
    "Not applicable",
)
ANALYTICS_SOURCES = (
    "ORGANIC_SEARCH",
    "PAID_SEARCH",
    "EMAIL_MARKETING",
    "SOCIAL_MEDIA",
    "REFERRALS",
    "OTHER_CAMPAIGNS",
    "DIRECT_TRAFFIC",
    "OFFLINE",
    "PAID_SOCIAL",
)
LIFECYCLE_STAGES = (
    "subscriber",
    "lead",
    "marketingqualifiedlead",
    "salesqualifiedlead",
    "opportunity",
    "customer",
    "evangelist",
    "other",
)
LEAD_STATUSES = (
    "NEW",
    "OPEN",
    "IN_PROGRESS",
    "OPEN_DEAL",
    "UNQUALIFIED",
    "ATTEMPTED_TO_CONTACT",
    "CONNECTED",
    "BAD_TIMING",
)
# Custom "Lead source" dropdown as many portals add it: internal value = canonical source kind.
LEAD_SOURCES = tuple(kind.value for kind in SourceKind)
COMPANY_TYPES = ("PROSPECT", "PARTNER", "RESELLER", "VENDOR", "OTHER", "CUSTOMER", "SUPPLIER")
EPOCH_ISO = "2019-08-06T00:00:00.000Z"


def iso_ms(moment: datetime) -> str:
    """Format a datetime as HubSpot does: UTC, millisecond precision, ``Z`` suffix."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")[:-6] + "Z"


@dataclass(slots=True)
class PropertyDef:
    """One property definition as stored; ``options`` only for enumeration and bool properties."""

    name: str
    label: str
    type: str
    field_type: str
    group_name: str
    options: list[dict[str, Any]] = field(default_factory=list)
    description: str = ""
    read_only_value: bool = False
    hubspot_defined: bool = True
    created_at: str = EPOCH_ISO
    updated_at: str = EPOCH_ISO
    display_order: int = -1
    has_unique_value: bool = False
    form_field: bool = False

    def to_json(self, *, archived: bool = False) -> dict[str, Any]:
        """Render as the SDK's ``ModelProperty`` (every required field present)."""
        body: dict[str, Any] = {
            "name": self.name,
            "label": self.label,
            "type": self.type,
            "fieldType": self.field_type,
            "description": self.description,
            "groupName": self.group_name,
            "options": self.options,
            "displayOrder": self.display_order,
            "calculated": False,
            "externalOptions": False,
            "hasUniqueValue": self.has_unique_value,
            "hidden": False,
            "formField": self.form_field,
            "createdAt": self.created_at,
            "updatedAt": self.updated_at,
            "archived": archived,
            "modificationMetadata": {
                "archivable": not self.hubspot_defined,
                "readOnlyDefinition": self.hubspot_defined,
                "readOnlyValue": self.read_only_value,
                "readOnlyOptions": False,
            },
        }
        if self.hubspot_defined:
            body["hubspotDefined"] = True
        return body


def _options(
    values: tuple[str, ...] | list[str], labels: dict[str, str] | None = None
) -> list[dict[str, Any]]:
    return [
        {"label": (labels or {}).get(v, v), "value": v, "displayOrder": i, "hidden": False}
        for i, v in enumerate(values)
    ]


BOOL_OPTIONS = [
    {"label": "Yes", "value": "true", "displayOrder": 0, "hidden": False},
    {"label": "No", "value": "false", "displayOrder": 1, "hidden": False},
]


def _std(name: str, ptype: str, ftype: str, group: str = "contactinformation", **kw: Any) -> PropertyDef:
    label = kw.pop("label", name.replace("_", " ").capitalize())
    return PropertyDef(name=name, label=label, type=ptype, field_type=ftype, group_name=group, **kw)


def standard_contact_properties() -> list[PropertyDef]:
    """The standard and commonly added contact properties the sandbox seeds from generated people."""
    ro: dict[str, Any] = {"read_only_value": True}
    return [
        _std("hs_object_id", "number", "number", label="Record ID", **ro),
        _std("hs_merged_object_ids", "enumeration", "checkbox", label="Merged Record IDs", **ro),
        _std("email", "string", "text", label="Email", has_unique_value=True),
        _std("firstname", "string", "text", label="First Name"),
        _std("lastname", "string", "text", label="Last Name"),
        _std("phone", "string", "phonenumber", label="Phone Number"),
        _std("mobilephone", "string", "phonenumber", label="Mobile Phone Number"),
        _std("company", "string", "text", label="Company Name"),
        _std("jobtitle", "string", "text", label="Job Title"),
        _std("country", "string", "text", label="Country/Region"),
        _std("hs_country_region_code", "string", "text", label="Country/Region Code"),
        _std("associatedcompanyid", "number", "number", label="Primary Associated Company ID"),
        _std("createdate", "datetime", "date", label="Create Date", **ro),
        _std("lastmodifieddate", "datetime", "date", label="Last Modified Date", **ro),
        _std("hs_lastmodifieddate", "datetime", "date", label="Object last modified date/time", **ro),
        _std(
            "lifecyclestage",
            "enumeration",
            "radio",
            label="Lifecycle Stage",
            options=_options(LIFECYCLE_STAGES),
        ),
        _std("hs_lead_status", "enumeration", "select", label="Lead Status", options=_options(LEAD_STATUSES)),
        _std(
            "hs_legal_basis",
            "enumeration",
            "checkbox",
            label="Legal basis for processing contact's data",
            options=_options(LEGAL_BASIS),
        ),
        _std(
            "hs_analytics_source",
            "enumeration",
            "select",
            group="analyticsinformation",
            label="Original Source",
            options=_options(ANALYTICS_SOURCES),
            **ro,
        ),
        _std("hs_analytics_source_data_1", "string", "text", group="analyticsinformation", **ro),
        _std("hs_analytics_source_data_2", "string", "text", group="analyticsinformation", **ro),
        _std(
            "hs_latest_source",
            "enumeration",
            "select",
            group="analyticsinformation",
            label="Latest Traffic Source",
            options=_options(ANALYTICS_SOURCES),
            **ro,
        ),
        _std("hs_latest_source_data_1", "string", "text", group="analyticsinformation", **ro),
        _std(
            "hs_email_optout",
            "enumeration",
            "booleancheckbox",
            group="emailinformation",
            label="Unsubscribed from all email",
            options=BOOL_OPTIONS,
            **ro,
        ),
        _std(
            "hs_marketable_status",
            "enumeration",
            "booleancheckbox",
            label="Marketing contact status",
            options=BOOL_OPTIONS,
        ),
        _std("recent_deal_close_date", "datetime", "date", group="deal_information", **ro),
        # Custom properties a typical EU portal has added (created by an admin, not HubSpot-defined).
        *[
            PropertyDef(
                name=n,
                label=n.replace("_", " ").capitalize(),
                type=t,
                field_type=ft,
                group_name="contactinformation",
                options=opts,
                hubspot_defined=False,
            )
            for n, t, ft, opts in (
                ("lead_source", "enumeration", "select", _options(LEAD_SOURCES)),
                ("lead_source_date", "date", "date", []),
                ("legal_form", "string", "text", []),
                ("email_consent_date", "date", "date", []),
                ("phone_consent_date", "date", "date", []),
                ("phone_optout_date", "date", "date", []),
                ("objection_date", "date", "date", []),
            )
        ],
    ]


def standard_company_properties() -> list[PropertyDef]:
    """Company properties: the ``type`` enumeration with the two custom options most portals add."""
    labels = {"CUSTOMER": "Customer", "SUPPLIER": "Supplier"}
    return [
        _std("hs_object_id", "number", "number", group="companyinformation", read_only_value=True),
        _std("name", "string", "text", group="companyinformation", label="Company name"),
        _std("domain", "string", "text", group="companyinformation", label="Company Domain Name"),
        _std("country", "string", "text", group="companyinformation", label="Country/Region"),
        _std(
            "type",
            "enumeration",
            "select",
            group="companyinformation",
            label="Type",
            options=_options(COMPANY_TYPES, labels),
        ),
        _std("createdate", "datetime", "date", group="companyinformation", read_only_value=True),
        _std("hs_lastmodifieddate", "datetime", "date", group="companyinformation", read_only_value=True),
    ]


class PropertyError(Exception):
    """A definition or value problem: ``status`` is the HTTP status, ``category`` HubSpot's error category."""

    def __init__(self, status: int, category: str, message: str, errors: list[dict[str, Any]] | None = None):
        super().__init__(message)
        self.status = status
        self.category = category
        self.message = message
        self.errors = errors or []


@dataclass(slots=True)
class Group:
    """A property group (``PropertyGroup``)."""

    name: str
    label: str
    display_order: int = -1

    def to_json(self) -> dict[str, Any]:
        """Render as the SDK's ``PropertyGroup``."""
        return {"name": self.name, "label": self.label, "displayOrder": self.display_order, "archived": False}


class PropertyRegistry:
    """Per object type property definitions and groups; thread-safe for create."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.defs: dict[str, dict[str, PropertyDef]] = {
            "contacts": {p.name: p for p in standard_contact_properties()},
            "companies": {p.name: p for p in standard_company_properties()},
        }
        self.groups: dict[str, dict[str, Group]] = {
            "contacts": {
                g: Group(g, g.replace("information", " information").capitalize())
                for g in (
                    "contactinformation",
                    "emailinformation",
                    "analyticsinformation",
                    "deal_information",
                )
            },
            "companies": {"companyinformation": Group("companyinformation", "Company information")},
        }
        self.archived: dict[str, dict[str, PropertyDef]] = {"contacts": {}, "companies": {}}

    def object_type(self, raw: str) -> str:
        """Normalise ``contact``/``contacts``/``0-1`` style object type names; 400 for unknown types."""
        key = {"contact": "contacts", "0-1": "contacts", "company": "companies", "0-2": "companies"}.get(
            raw.lower(), raw.lower()
        )
        if key not in self.defs:
            raise PropertyError(400, "VALIDATION_ERROR", f"Unable to infer object type from: {raw}")
        return key

    def get(self, object_type: str, name: str) -> PropertyDef | None:
        """The definition of ``name`` or None."""
        return self.defs[object_type].get(name)

    def archive(self, object_type: str, name: str) -> None:
        """Move a custom property to the recycle bin (``GET ?archived=true`` lists it); 404 when unknown,
        400 for a HubSpot-defined property, which cannot be archived. Its values are no longer writable."""
        with self._lock:
            prop = self.defs[object_type].get(name)
            if prop is None:
                raise PropertyError(404, "OBJECT_NOT_FOUND", "Property does not exist.")
            if prop.hubspot_defined:
                raise PropertyError(
                    400, "VALIDATION_ERROR", f"Property {name} is HubSpot-defined and cannot be archived."
                )
            self.archived[object_type][name] = self.defs[object_type].pop(name)

    def archive_group(self, object_type: str, name: str) -> None:
        """Remove an empty property group; 404 when unknown, 400 while live properties still belong to it."""
        with self._lock:
            if name not in self.groups[object_type]:
                raise PropertyError(404, "OBJECT_NOT_FOUND", "Property group not found.")
            if any(p.group_name == name for p in self.defs[object_type].values()):
                raise PropertyError(400, "VALIDATION_ERROR", f"Property group {name} still has properties.")
            del self.groups[object_type][name]

    def create_group(self, object_type: str, body: dict[str, Any]) -> Group:
        """Create a property group; 409 when the name exists."""
        name, label = body.get("name"), body.get("label")
        if not isinstance(name, str) or not name or not isinstance(label, str):
            raise PropertyError(400, "VALIDATION_ERROR", "Property group requires name and label.")
        with self._lock:
            if name in self.groups[object_type]:
                raise PropertyError(
                    409, "OBJECT_ALREADY_EXISTS", f"A property group named '{name}' already exists."
                )
            group = Group(name, label, int(body.get("displayOrder", -1)))
            self.groups[object_type][name] = group
        return group

    def create(self, object_type: str, body: dict[str, Any], now: datetime) -> PropertyDef:
        """Validate a ``PropertyCreate`` body and store it; 409 on a duplicate name, 400 on invalid input."""
        missing = [k for k in ("name", "label", "type", "fieldType", "groupName") if not body.get(k)]
        if missing:
            raise PropertyError(400, "VALIDATION_ERROR", f"Missing required fields: {', '.join(missing)}")
        name, ptype, ftype = str(body["name"]), str(body["type"]), str(body["fieldType"])
        if ptype not in TYPES_FIELD_TYPES:
            raise PropertyError(400, "VALIDATION_ERROR", f"Invalid property type: {ptype}")
        if ftype not in TYPES_FIELD_TYPES[ptype]:
            raise PropertyError(400, "VALIDATION_ERROR", f"fieldType {ftype} is not valid for type {ptype}")
        options = body.get("options") or []
        if ptype == "enumeration" and not options:
            raise PropertyError(400, "VALIDATION_ERROR", "Enumeration properties require options.")
        clean: list[dict[str, Any]] = []
        for i, opt in enumerate(options):
            if not isinstance(opt, dict) or "label" not in opt or "value" not in opt or "hidden" not in opt:
                raise PropertyError(400, "VALIDATION_ERROR", "Each option needs label, value and hidden.")
            clean.append(
                {
                    "label": str(opt["label"]),
                    "value": str(opt["value"]),
                    "displayOrder": int(opt.get("displayOrder", i)),
                    "hidden": bool(opt["hidden"]),
                    **({"description": str(opt["description"])} if opt.get("description") else {}),
                }
            )
        if ptype == "bool" and not clean:
            clean = [dict(o) for o in BOOL_OPTIONS]
        stamp = iso_ms(now)
        with self._lock:
            if body["groupName"] not in self.groups[object_type]:
                raise PropertyError(
                    400, "VALIDATION_ERROR", f"Property group {body['groupName']} does not exist."
                )
            if name in self.defs[object_type] or name in self.archived[object_type]:
                raise PropertyError(
                    409, "OBJECT_ALREADY_EXISTS", f"A property named '{name}' already exists."
                )
            prop = PropertyDef(
                name=name,
                label=str(body["label"]),
                type=ptype,
                field_type=ftype,
                group_name=str(body["groupName"]),
                options=clean,
                description=str(body.get("description") or ""),
                hubspot_defined=False,
                created_at=stamp,
                updated_at=stamp,
                display_order=int(body.get("displayOrder", -1)),
                has_unique_value=bool(body.get("hasUniqueValue", False)),
                form_field=bool(body.get("formField", False)),
            )
            self.defs[object_type][name] = prop
        return prop

    def normalise_values(self, object_type: str, values: dict[str, Any]) -> dict[str, str | None]:
        """Validate written values; return them as stored strings (``""`` clears to None).

        Raises a 400 ``VALIDATION_ERROR`` listing every invalid value, in HubSpot's message format.
        """
        out: dict[str, str | None] = {}
        problems: list[dict[str, Any]] = []
        for name, raw in values.items():
            prop = self.defs[object_type].get(name)
            if prop is None:
                problems.append(_problem(name, "PROPERTY_DOESNT_EXIST", f'Property "{name}" does not exist'))
                continue
            if prop.read_only_value:
                problems.append(_problem(name, "READ_ONLY_VALUE", f'"{name}" is a read only property'))
                continue
            value = "" if raw is None else (str(raw).lower() if isinstance(raw, bool) else str(raw))
            if value == "":
                out[name] = None
                continue
            try:
                out[name] = _coerce(prop, value)
            except ValueError as exc:
                problems.append(_problem(name, exc.args[0], exc.args[1]))
        if problems:
            raise PropertyError(
                400,
                "VALIDATION_ERROR",
                "Property values were not valid: " + json.dumps(problems),
                [{"message": p["message"], "in": p["name"]} for p in problems],
            )
        return out


def _problem(name: str, error: str, message: str) -> dict[str, Any]:
    return {
        "isValid": False,
        "message": message,
        "error": error,
        "name": name,
        "localizedErrorMessage": message,
    }


def _coerce(prop: PropertyDef, value: str) -> str:
    """One value to its stored string form; ValueError(error_code, message) when invalid."""
    if prop.type in ("enumeration", "bool"):
        allowed = [o["value"] for o in prop.options]
        parts = value.split(";") if prop.field_type == "checkbox" else [value]
        if prop.type == "bool" or prop.field_type == "booleancheckbox":
            parts = [p.lower() if p.lower() in ("true", "false") else p for p in parts]
        bad = [p for p in parts if p not in allowed]
        if bad:
            raise ValueError("INVALID_OPTION", f"{bad[0]} was not one of the allowed options: {allowed}")
        return ";".join(parts)
    if prop.type == "number":
        try:
            float(value)
        except ValueError:
            raise ValueError("INVALID_LONG", f"{value} was not a valid number") from None
        return value
    if prop.type == "date":
        return _as_date(value)
    if prop.type == "datetime":
        return _as_datetime(value)
    return value


def _as_date(value: str) -> str:
    if value.isdigit():
        moment = datetime.fromtimestamp(int(value) / 1000, UTC)
        if moment.hour or moment.minute or moment.second or moment.microsecond:
            raise ValueError("INVALID_DATE", f"{value} is not midnight UTC")
        return moment.date().isoformat()
    try:
        return date.fromisoformat(value[:10]).isoformat()
    except ValueError:
        raise ValueError("INVALID_DATE", f"{value} is not a valid date") from None


def _as_datetime(value: str) -> str:
    if value.isdigit():
        return iso_ms(datetime.fromtimestamp(int(value) / 1000, UTC))
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError("INVALID_DATETIME", f"{value} is not a valid datetime") from None
    return iso_ms(moment if moment.tzinfo else moment.replace(tzinfo=UTC))
