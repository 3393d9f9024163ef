"""Compare a mapping file with what the CRM describes: every problem at once. Pure.

Reports fields the mapping reads that the CRM lacks, write-back fields that are missing or not writable, and
picklist values (and free-text country values) that the mapping does not translate, with how many records
hold each — those records are reviewed, never guessed permissive, until the mapping covers them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from connector.mapping.consent_records import DATA_USE_PURPOSES
from connector.mapping.own_fields import written_names
from connector.mapping.schema import MappingFile
from connector.mapping.subscriptions import SUBSCRIPTION_TYPES
from connector.models import FieldInfo

__all__ = ["MappingProblem", "check_mapping"]

ValueCounts = Callable[[str, str], Mapping[str, int]]
"""(object type, field) -> records per value."""


@dataclass(frozen=True, slots=True, order=True)
class MappingProblem:
    object_type: str
    field: str
    kind: str
    """``missing_field``, ``missing_writeback``, ``not_writable``, ``unmapped_value``, ``unmapped_country``,
    ``unplaced_subscription_type`` or ``unplaced_purpose``."""
    detail: str

    def __str__(self) -> str:
        return f"{self.object_type}.{self.field}: {self.detail}"


def _with_drill_down_heads(table: Mapping[str, object]) -> dict[str, object]:
    """A source table plus the head of each ``VALUE/DETAIL`` key: ``VALUE`` counts as mapped through them."""
    heads = {key.split("/", 1)[0]: value for key, value in table.items() if "/" in key}
    return heads | dict(table)


def _unmapped(table: Mapping[str, object], values: Mapping[str, int]) -> dict[str, int]:
    folded = {key.strip().casefold() for key in table}
    return {v: n for v, n in values.items() if v.strip().casefold() not in folded}


def check_mapping(
    mapping: MappingFile,
    described: Mapping[str, Mapping[str, FieldInfo]],
    value_counts: ValueCounts,
    *,
    synthetic: frozenset[str] = frozenset(),
) -> list[MappingProblem]:
    """Every problem of ``mapping`` against the CRM's ``described`` objects; ``synthetic`` fields are the
    adapter's own (computed, not read from the CRM)."""
    problems: list[MappingProblem] = []
    wb = mapping.writeback
    for object_type, om in mapping.objects.items():
        fields = described.get(object_type, {})
        if not fields:
            problems.append(MappingProblem(object_type, "*", "missing_object", "the CRM has no such object"))
            continue
        for name in om.fields():
            if name not in fields and name not in synthetic:
                problems.append(
                    MappingProblem(object_type, name, "missing_field", "no such field in the CRM")
                )
        for name in written_names(wb):
            info = fields.get(name)
            if info is None:
                problems.append(
                    MappingProblem(
                        object_type,
                        name,
                        "missing_writeback",
                        "write-back field missing: run lawful-crm install",
                    )
                )
            elif not info.writable:
                problems.append(
                    MappingProblem(
                        object_type,
                        name,
                        "not_writable",
                        "the integration user cannot edit it (field-level security)",
                    )
                )
        sources = [entry if isinstance(entry, str) else entry.field for entry in om.source]
        slots: tuple[tuple[list[str], Mapping[str, object]], ...] = (
            (sources, _with_drill_down_heads(mapping.sources)),
            (om.relationship, mapping.relationships),
            (om.legal_basis, mapping.legal_bases),
        )
        for slot, table in slots:
            for name in slot:
                if name in fields:
                    problems += _values(
                        object_type, name, table, fields[name], value_counts, "unmapped_value"
                    )
        for name in om.country:
            if name in fields and fields[name].values is None:
                counts = value_counts(object_type, name)
                iso = {v: n for v, n in counts.items() if not (len(v.strip()) == 2 and v.strip().isalpha())}
                for value, n in sorted(_unmapped(mapping.countries, iso).items()):
                    problems.append(
                        MappingProblem(
                            object_type,
                            name,
                            "unmapped_country",
                            f"country {value!r} is not mapped ({n} records)",
                        )
                    )
            elif name in fields:
                problems += _values(
                    object_type, name, mapping.countries, fields[name], value_counts, "unmapped_country"
                )
        problems += _unplaced_subscriptions(mapping, object_type, fields)
        problems += _unplaced_purposes(mapping, object_type, fields)
    return sorted(problems)


def _unplaced_purposes(
    mapping: MappingFile, object_type: str, fields: Mapping[str, FieldInfo]
) -> list[MappingProblem]:
    """The org's data use purposes (values of ``DATA_USE_PURPOSES``) that the mapping's ``data_use_purposes``
    table does not place: their consent records are read and say nothing. Without that entry the org's
    purposes could not be read at all (no consent data model, or no access to it)."""
    if not mapping.data_use_purposes:
        return []
    info = fields.get(DATA_USE_PURPOSES)
    if info is None:
        detail = "the org's data use purposes cannot be read (Data Protection and Privacy off, or no access)"
        return [MappingProblem(object_type, DATA_USE_PURPOSES, "missing_field", detail)]
    placed = {key.strip().casefold() for key in mapping.data_use_purposes}
    unplaced = [name for name in info.values or () if name.strip().casefold() not in placed]
    detail = "data use purpose {!r} is not placed in data_use_purposes"
    return [
        MappingProblem(object_type, DATA_USE_PURPOSES, "unplaced_purpose", detail.format(name))
        for name in unplaced
    ]


def _unplaced_subscriptions(
    mapping: MappingFile, object_type: str, fields: Mapping[str, FieldInfo]
) -> list[MappingProblem]:
    """The CRM's subscription types (``id:name`` values of ``SUBSCRIPTION_TYPES``) that the mapping's
    ``subscriptions`` table places neither by name nor by id: their statuses are read and say nothing."""
    info = fields.get(SUBSCRIPTION_TYPES)
    if info is None or not mapping.subscriptions:
        return []
    placed = {key.strip().casefold() for key in mapping.subscriptions}
    problems = []
    for value in info.values or ():
        type_id, _, name = value.partition(":")
        if type_id.strip().casefold() not in placed and name.strip().casefold() not in placed:
            detail = f"subscription type {name!r} (id {type_id}) is not placed in subscriptions"
            problems.append(
                MappingProblem(object_type, SUBSCRIPTION_TYPES, "unplaced_subscription_type", detail)
            )
    return problems


def _values(
    object_type: str,
    name: str,
    table: Mapping[str, object],
    info: FieldInfo,
    value_counts: ValueCounts,
    kind: str,
) -> list[MappingProblem]:
    counts = dict(value_counts(object_type, name))
    for value in info.values or ():
        counts.setdefault(value, 0)
    if kind == "unmapped_country":
        counts = {v: n for v, n in counts.items() if not (len(v) == 2 and v.isalpha() and v.isupper())}
    return [
        MappingProblem(object_type, name, kind, f"value {value!r} is not mapped ({n} records)")
        for value, n in sorted(_unmapped(table, counts).items())
    ]
