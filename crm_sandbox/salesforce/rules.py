"""The org's own data rules: validation rules, duplicate rules and triggers, as an admin configures them.

Each org has different ones, so the sandbox starts with none and takes them through `state.rules.add(...)`
or the admin endpoint `POST /__sandbox/rules` (`{"kind": "validation", "object": "Contact", ...}`).
Conditions are SOQL WHERE expressions evaluated on the record as it would be after the write, standing in for
Salesforce's formula language:

* **validation**: the write fails with FIELD_CUSTOM_VALIDATION_EXCEPTION and the rule's message when the
  record matches `condition` (Salesforce's "error condition formula": true means refuse);
* **duplicate**: a record whose `fields` all equal (case-insensitively) another live record's is refused with
  DUPLICATES_DETECTED, on create and whenever one of those fields is written;
* **trigger**: a before-save trigger that sets `values` on every update of a record matching `condition`
  (all records when none) — in the same save, so `SystemModstamp` and the fields move together.

Required fields need no rule: a field the schema marks not nillable refuses null (REQUIRED_FIELD_MISSING).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from crm_sandbox.salesforce.soql import SoqlError, parse

if TYPE_CHECKING:
    from crm_sandbox.salesforce.query import Executor
    from crm_sandbox.salesforce.schema import ObjectSpec

RecordError = dict[str, Any]
Predicate = Callable[[Mapping[str, Any]], bool]


@dataclass(frozen=True, slots=True)
class ValidationRule:
    object: str
    name: str
    condition: str
    message: str
    field: str | None = None
    """Where the message shows (the error's `fields`); None for the top of the page."""


@dataclass(frozen=True, slots=True)
class DuplicateRule:
    object: str
    name: str
    fields: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Trigger:
    object: str
    name: str
    values: Mapping[str, Any]
    condition: str | None = None


Rule = ValidationRule | DuplicateRule | Trigger
_KINDS: dict[str, type[Rule]] = {"validation": ValidationRule, "duplicate": DuplicateRule, "trigger": Trigger}


@dataclass(slots=True)
class OrgRules:
    """The rules of one org, checked by every write path (sobject PATCH, collections, Bulk 2.0)."""

    rules: list[Rule] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, kind: str, **spec: Any) -> Rule:
        """Add a rule of ``kind`` (validation, duplicate, trigger); ValueError for an unknown kind or key."""
        cls = _KINDS.get(kind)
        if cls is None:
            raise ValueError(f"unknown rule kind {kind!r}; expected one of {sorted(_KINDS)}")
        if cls is DuplicateRule:
            spec["fields"] = tuple(spec.get("fields") or ())
        rule = cls(**spec)
        with self._lock:
            self.rules.append(rule)
        return rule

    def clear(self) -> None:
        """Remove every rule."""
        with self._lock:
            self.rules.clear()

    def of(self, obj: ObjectSpec, kind: type[Rule]) -> list[Any]:
        return [
            rule for rule in self.rules if isinstance(rule, kind) and rule.object.lower() == obj.name.lower()
        ]

    def triggered(self, executor: Executor, obj: ObjectSpec, record: Mapping[str, Any]) -> dict[str, Any]:
        """The values the object's triggers set on this update."""
        values: dict[str, Any] = {}
        for trigger in self.of(obj, Trigger):
            if trigger.condition is None or _matches(executor, obj, trigger.condition, record):
                for key, value in trigger.values.items():
                    spec = obj.field(key)
                    values[spec.name if spec is not None else key] = value
        return values

    def check(
        self,
        executor: Executor,
        obj: ObjectSpec,
        record: Mapping[str, Any],
        *,
        index: int | None,
        written: Iterable[str],
    ) -> RecordError | None:
        """The first error the org's rules raise against ``record`` as saved (None when it passes)."""
        for rule in self.of(obj, ValidationRule):
            if _matches(executor, obj, rule.condition, record):
                return {"statusCode": "FIELD_CUSTOM_VALIDATION_EXCEPTION", "message": rule.message,
                        "fields": [rule.field] if rule.field else []}  # fmt: skip
        touched = {name.lower() for name in written}
        for dup in self.of(obj, DuplicateRule):
            keys = [name.lower() for name in dup.fields]
            if index is not None and not touched & set(keys):
                continue
            if _has_duplicate(executor, obj, record, keys, index):
                return {"statusCode": "DUPLICATES_DETECTED", "fields": [],
                        "message": "Use one of these records?", "duplicateResult": {"duplicateRule": dup.name}}  # fmt: skip
        return None


def _matches(executor: Executor, obj: ObjectSpec, condition: str, record: Mapping[str, Any]) -> bool:
    try:
        query = parse(f"SELECT Id FROM {obj.name} WHERE {condition}")
        assert query.where is not None
        return bool(executor.predicate(obj, query.where, include_deleted=False)(dict(record)))
    except SoqlError as exc:
        raise ValueError(f"rule condition does not parse: {exc.message}") from None


def _has_duplicate(
    executor: Executor, obj: ObjectSpec, record: Mapping[str, Any], keys: list[str], index: int | None
) -> bool:
    lowered = {k.lower(): v for k, v in record.items()}
    wanted = [_norm(lowered.get(key)) for key in keys]
    if any(value is None for value in wanted):
        return False
    store = executor.store
    for other in store.indexes(obj.name):
        if other == index:
            continue
        found = store.get(obj.name, other)
        if found is not None:
            mine = {k.lower(): v for k, v in found.items()}
            if [_norm(mine.get(key)) for key in keys] == wanted:
                return True
    return False


def _norm(value: Any) -> Any:
    if value in (None, ""):
        return None
    return value.lower() if isinstance(value, str) else value
