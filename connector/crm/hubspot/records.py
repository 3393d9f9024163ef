"""SDK objects -> plain values: contacts as ``Fetched``, then ``CrmRecord`` with their company's properties.

Field naming: a contact's own properties keep their HubSpot names (``email``, ``hs_legal_basis``); the
properties of its primary associated company are added as ``company.<property>`` (``company.type``,
``company.country``, ``company.name``), None when the contact has no company. The primary company is
``associatedcompanyid``; a listed association stands in when that property is empty.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from connector.crm.port import CrmRecord

__all__ = [
    "COMPANY_PREFIX",
    "OBJECT_TYPE",
    "Fetched",
    "company_properties_of",
    "contact_properties_of",
    "epoch_ms",
    "fetched",
    "from_epoch_ms",
    "parse_time",
    "record_of",
]

OBJECT_TYPE = "contacts"
COMPANY_PREFIX = "company."
REQUIRED = ("hs_object_id", "lastmodifieddate", "createdate", "associatedcompanyid")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

Props = Mapping[str, str | None]


@dataclass(frozen=True, slots=True)
class Fetched:
    """One contact as read: its id, property values and primary company id."""

    id: str
    properties: Props
    company_id: str | None


def contact_properties_of(fields: Iterable[str]) -> tuple[str, ...]:
    """The contact properties to request for ``fields`` (company ones left out, required ones added)."""
    own = [name for name in fields if not name.startswith(COMPANY_PREFIX)]
    return tuple(dict.fromkeys([*REQUIRED, *own]))


def company_properties_of(fields: Iterable[str]) -> tuple[str, ...]:
    """The company properties ``company.<name>`` fields ask for, without the prefix."""
    return tuple(
        dict.fromkeys(name[len(COMPANY_PREFIX) :] for name in fields if name.startswith(COMPANY_PREFIX))
    )


def fetched(obj: Any) -> Fetched:
    """A contact from an SDK object (list, search or batch read result) or the same as plain JSON."""
    props: dict[str, str | None] = dict(_part(obj, "properties") or {})
    company = props.get("associatedcompanyid") or _first_association(obj)
    return Fetched(id=str(_part(obj, "id")), properties=props, company_id=str(company) if company else None)


def _part(obj: Any, name: str) -> Any:
    """``obj[name]`` of a JSON object, ``obj.name`` of an SDK model; None when absent."""
    return obj.get(name) if isinstance(obj, Mapping) else getattr(obj, name, None)


def _first_association(obj: Any) -> str | None:
    associations = _part(obj, "associations")
    companies = associations.get("companies") if isinstance(associations, Mapping) else None
    for link in _part(companies, "results") or ():
        if _part(link, "id"):
            return str(_part(link, "id"))
    return None


def record_of(contact: Fetched, company: Props | None, company_properties: Iterable[str]) -> CrmRecord:
    """The CrmRecord of a contact with its company's properties under ``company.<name>``."""
    fields: dict[str, str | None] = dict(contact.properties)
    for name in company_properties:
        fields[COMPANY_PREFIX + name] = company.get(name) if company is not None else None
    props = contact.properties
    modified = parse_time(props.get("lastmodifieddate")) or parse_time(props.get("createdate"))
    return CrmRecord(
        object_type=OBJECT_TYPE,
        id=contact.id,
        fields=fields,
        modified=modified or EPOCH,
        created=parse_time(props.get("createdate")),
    )


def parse_time(value: str | datetime | None) -> datetime | None:
    """An aware UTC datetime from HubSpot's ISO strings (``…T19:55:04.281Z``) or epoch milliseconds."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    text = value.strip()
    try:
        if text.isdigit():
            return datetime.fromtimestamp(int(text) / 1000, tz=UTC)
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def epoch_ms(moment: datetime) -> int:
    """Epoch milliseconds (rounded down, exactly), as search filters compare dates."""
    return (moment - EPOCH) // timedelta(milliseconds=1)


def from_epoch_ms(ms: int) -> datetime:
    """The aware UTC datetime of epoch milliseconds."""
    return EPOCH + timedelta(milliseconds=ms)
