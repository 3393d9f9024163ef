"""What the portal's properties are, and how often each option value occurs.

``describe`` lists the contact properties and the company properties (as ``company.<name>``) from the
properties API, once per adapter (``forget`` after an install). ``value_counts`` of an enumeration asks search
for the ``total`` of each option value with ``limit=1``: **one search call per option value** (plus one for
the records whose value is not an option), at the search rate limit; records holding a value that is not an
option (typed in before the options were tightened, options removed since) are then listed by value from one
more search of up to ``OTHER_SAMPLE`` such records, so that ``mappings check`` names them; any beyond are counted
together under ``OTHER_VALUES``. HubSpot has no way to count free-text values, so a free-text property (``country``) is read
from the list of records, 100 per call, up to ``SCAN_LIMIT`` records: on a larger portal the counts are those
of its first ``SCAN_LIMIT`` records. Company properties are counted over companies.
"""

from __future__ import annotations

from typing import Any

from connector.crm.hubspot.records import COMPANY_PREFIX, OBJECT_TYPE
from connector.crm.hubspot.session import HubSpotSession
from connector.crm.port import FieldInfo
from connector.errors import ConfigurationError

__all__ = ["OTHER_VALUES", "Catalogue"]

OTHER_VALUES = (
    "(further values outside the options: filter the property on 'is none of' its options to list them)"
)
OTHER_SAMPLE = 200
"""Records read to name the values outside a property's options (one search page)."""
MAX_NOT_IN = 100
"""Options beyond which the values outside them are counted, not listed (one NOT_IN filter's reach)."""
ENUMERATED = frozenset({"enumeration", "bool"})
SCAN_LIMIT = 10_000


class Catalogue:
    """Property descriptions and value counts through one session."""

    def __init__(self, session: HubSpotSession) -> None:
        self.session = session
        self._fields: dict[str, FieldInfo] | None = None

    def describe(self) -> dict[str, FieldInfo]:
        """Contact properties by name and company properties as ``company.<name>``; cached."""
        if self._fields is None:
            fields = {p.name: _info(p.name, p) for p in self._properties(OBJECT_TYPE)}
            for p in self._properties("companies"):
                fields[COMPANY_PREFIX + p.name] = _info(COMPANY_PREFIX + p.name, p)
            self._fields = fields
        return dict(self._fields)

    def forget(self) -> None:
        """Describe again next time (after the properties changed)."""
        self._fields = None

    def value_counts(self, field: str) -> dict[str, int]:
        """Records per non-empty value of ``field``: option values by name, the rest under OTHER_VALUES."""
        info = self.describe().get(field)
        if info is None:
            raise ConfigurationError(f"HubSpot has no property {field}")
        company = field.startswith(COMPANY_PREFIX)
        name = field[len(COMPANY_PREFIX) :] if company else field
        if info.values is None:
            return self._scan(name, company=company)
        counts: dict[str, int] = {}
        for value in info.values or ():
            found = self._total({"propertyName": name, "operator": "EQ", "value": value}, company=company)
            if found:
                counts[value] = found
        present = self._total({"propertyName": name, "operator": "HAS_PROPERTY"}, company=company)
        other = present - sum(counts.values())
        if other > 0:
            counts.update(self._outside(name, info.values or (), other, company=company))
        return counts

    def _outside(self, name: str, options: tuple[str, ...], other: int, *, company: bool) -> dict[str, int]:
        """The ``other`` records' values outside ``options``, by value as far as one search page reaches."""
        found: dict[str, int] = {}
        if len(options) <= MAX_NOT_IN:
            filters: list[dict[str, Any]] = [{"propertyName": name, "operator": "HAS_PROPERTY"}]
            if options:
                filters.append({"propertyName": name, "operator": "NOT_IN", "values": list(options)})
            answer = self._search(filters, [name], limit=OTHER_SAMPLE, company=company)
            for obj in answer.results or ():
                value = (obj.properties or {}).get(name)
                if value not in (None, ""):
                    found[str(value)] = found.get(str(value), 0) + 1
        rest = other - sum(found.values())
        if rest > 0:
            found[OTHER_VALUES] = rest
        return found

    def _scan(self, name: str, *, company: bool) -> dict[str, int]:
        """Counts of a free-text property over the first SCAN_LIMIT records of the list."""
        api = self.session.apis.companies if company else self.session.apis.contacts
        counts: dict[str, int] = {}
        after: str | None = None
        for _ in range(SCAN_LIMIT // 100):
            answer = self.session.call(
                "companies.list" if company else "contacts.list",
                api.get_page_with_http_info,
                limit=100,
                after=after,
                properties=[name],
                archived=False,
            )
            for obj in answer.results or ():
                value = (obj.properties or {}).get(name)
                if value not in (None, ""):
                    counts[str(value)] = counts.get(str(value), 0) + 1
            following = getattr(getattr(answer, "paging", None), "next", None)
            after = getattr(following, "after", None)
            if not after:
                break
        return counts

    def _total(self, condition: dict[str, Any], *, company: bool) -> int:
        return int(self._search([condition], ["hs_object_id"], limit=1, company=company).total or 0)

    def _search(
        self, filters: list[dict[str, Any]], properties: list[str], *, limit: int, company: bool
    ) -> Any:
        api = self.session.apis.companies_search if company else self.session.apis.contacts_search
        return self.session.call(
            "companies.search" if company else "contacts.search",
            api.do_search_with_http_info,
            search=True,
            public_object_search_request={
                "filterGroups": [{"filters": filters}],
                "properties": properties,
                "limit": limit,
            },
        )

    def _properties(self, object_type: str) -> list[Any]:
        answer = self.session.call(
            "properties.list",
            self.session.apis.properties.get_all_with_http_info,
            object_type=object_type,
            archived=False,
        )
        return list(answer.results or ())


def _info(name: str, prop: Any) -> FieldInfo:
    metadata = getattr(prop, "modification_metadata", None)
    read_only = bool(getattr(metadata, "read_only_value", False))
    values = None
    if prop.type in ENUMERATED:
        values = tuple(str(o.value) for o in prop.options or () if not getattr(o, "hidden", False))
    return FieldInfo(name=name, type=str(prop.type), writable=not read_only, values=values)
