"""Which Salesforce fields the adapter reads and writes for each mapped object. Pure: derived from the mapping.

A pull selects exactly the mapped fields, the connector's own write-back fields (so the sync can compare before
it writes) and the mirror fields, plus Id, SystemModstamp, IsDeleted and CreatedDate. `Last_Won_Close_Date` is not a
Salesforce field: the adapter fills it from won Opportunities of the record's account, so it then also reads
AccountId.
"""

from __future__ import annotations

from dataclasses import dataclass

from connector.crm.salesforce import soql
from connector.errors import ConfigurationError
from connector.mapping.own_fields import written_names
from connector.mapping.schema import MappingFile

__all__ = ["WON_DEAL_FIELD", "ObjectFields", "object_fields", "own_fields", "scope"]

WON_DEAL_FIELD = "Last_Won_Close_Date"
"""The latest close date of a won Opportunity of the record's account, as `YYYY-MM-DD`, or None."""
SYSTEM_FIELDS = ("Id", "SystemModstamp", "IsDeleted", "CreatedDate")


@dataclass(frozen=True, slots=True)
class ObjectFields:
    """The fields of one object as a pull reads them."""

    object_type: str
    read: tuple[str, ...]
    """The Salesforce fields a record carries in `CrmRecord.fields` (mapping, write-back, mirror)."""
    won_deals: bool
    """Whether the mapping uses `Last_Won_Close_Date` for this object."""
    consents: bool = False
    """Whether the consent rows of the record's Individual are read (the mapping places data use purposes)."""

    @property
    def select_list(self) -> tuple[str, ...]:
        """The SELECT list: system fields, AccountId when won deals are looked up, IndividualId when consent
        rows are, then the read fields."""
        lowered = {name.lower() for name in self.read}
        extra: tuple[str, ...] = ("AccountId",) if self.won_deals and "accountid" not in lowered else ()
        extra += ("IndividualId",) if self.consents and "individualid" not in lowered else ()
        system = tuple(name for name in SYSTEM_FIELDS if name.lower() not in lowered)
        return (*system, *extra, *self.read)

    @property
    def record_fields(self) -> tuple[str, ...]:
        """The keys of `CrmRecord.fields`."""
        return (*self.read, WON_DEAL_FIELD) if self.won_deals else self.read


def own_fields(mapping: MappingFile) -> tuple[str, ...]:
    """The connector's write-back fields and the mirror fields: the only fields it ever writes."""
    return written_names(mapping.writeback)


def object_fields(mapping: MappingFile, object_type: str) -> ObjectFields:
    """The fields a pull of `object_type` reads; ConfigurationError for an unmapped object or a bad name."""
    if object_type not in mapping.objects:
        known = ", ".join(mapping.objects)
        raise ConfigurationError(f"{object_type} is not mapped (the mapping has {known})")
    mapped = mapping.objects[object_type].fields()
    won_deals = WON_DEAL_FIELD in mapped
    read: dict[str, str] = {}
    for name in (*mapped, *own_fields(mapping)):
        if name != WON_DEAL_FIELD:
            read.setdefault(soql.name(name).lower(), name)
    return ObjectFields(
        soql.name(object_type), tuple(read.values()), won_deals, consents=bool(mapping.data_use_purposes)
    )


def scope(object_type: str) -> tuple[str, ...]:
    """Conditions every read of the object carries: converted Leads are read-only history, not people to ask."""
    return ("IsConverted = false",) if object_type.lower() == "lead" else ()
