"""An audit entry's facts and decision as the store keeps them: JSON values, packed bytes and fingerprints.

A record written in a sync is kept twice: its pending entry before the write, then its outcome. Both hold the
same facts and decision, so what they become in the store is computed once per record (``Kept``, carried by
the entry) instead of once per keeping. Facts and decisions are packed from the models' own JSON, which is the
text ``pack`` writes. Most decisions differ from others only by their record id: their packed value, canonical
text and verdict columns are kept once for all of them (a bounded cache keyed by the JSON without the id).

The fingerprint names a record's facts, decision and settled outcome: ``sha256`` of the JSON list ``[facts,
decision, outcome]`` with sorted keys, its first 16 hex digits. Records kept by earlier versions compare with
it, so its text stays exactly that list's ``json.dumps``; the facts-and-decision part is hashed once and the
outcome appended per fingerprint.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from connector.store.packing import pack_json, pack_without_id, without_id

if TYPE_CHECKING:
    from connector.models import ContactFacts, Decision

__all__ = ["Kept", "fingerprint"]


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def fingerprint(facts: Any, decision: Any, outcome: str) -> str:
    """The fingerprint of JSON facts, decision and outcome (see the module docstring)."""
    text = _canonical([facts, decision, outcome])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class Kept:
    """What one entry's facts and decision become in the store, computed on first use. It answers for the
    facts and decision objects it was first asked about only; for others it starts over."""

    __slots__ = (
        "_of",
        "_prefix",
        "intended",
        "lawful_use",
        "packed_decision",
        "packed_facts",
        "review_needed",
    )

    def __init__(self) -> None:
        self._of: tuple[object, object, str] | None = None
        self.packed_facts = self.packed_decision = b""
        self.lawful_use = ""
        self.review_needed = False
        self._prefix: Any = None
        self.intended: Mapping[str, Any] | None = None
        """The written values a pending entry was kept with (``Audit.intend``)."""

    def of(self, facts: ContactFacts, decision: Decision, record_id: str) -> Kept:
        """This memo, filled for ``facts`` and ``decision`` of the record ``record_id``."""
        of = self._of
        if of is None or of[0] is not facts or of[1] is not decision or of[2] != record_id:
            self.packed_facts = pack_json(facts.model_dump_json(exclude_defaults=True), record_id)
            text = decision.model_dump_json()
            rest = without_id(text, record_id)
            if rest is not None:  # decisions differing only by their record id share the rest
                parts = _decision_parts(rest)
                self.packed_decision = parts.packed
                canonical_decision = parts.canonical(record_id)
                self.lawful_use, self.review_needed = parts.lawful_use, parts.review_needed
            else:
                value = decision.model_dump(mode="json")
                self.packed_decision = pack_json(text, record_id)
                canonical_decision = _canonical(value)
                self.lawful_use, self.review_needed = str(value["lawful_use"]), bool(value["review_needed"])
            canonical_facts = _canonical(facts.model_dump(mode="json", exclude_defaults=True))
            self._prefix = hashlib.sha256(f"[{canonical_facts}, {canonical_decision}, ".encode())
            self.intended = None
            self._of = (facts, decision, record_id)
        return self

    def fingerprint(self, outcome: str) -> str:
        """``fingerprint(facts, decision, outcome)`` from the facts-and-decision part hashed once."""
        digest = self._prefix.copy()
        digest.update(_ending(outcome))
        return str(digest.hexdigest()[:16])


class _DecisionParts:
    """What decisions differing only by their record id share: the packed value (its id left out), the
    canonical text around the ``"id"`` item (the items whose keys sort before it, those after) and the verdict
    columns."""

    __slots__ = ("after", "before", "lawful_use", "packed", "review_needed")

    def __init__(self, rest: str) -> None:
        value = json.loads(rest)
        self.packed = pack_without_id(rest)
        self.before = _canonical({key: item for key, item in value.items() if key < "id"})[1:-1]
        self.after = _canonical({key: item for key, item in value.items() if key > "id"})[1:-1]
        self.lawful_use, self.review_needed = str(value["lawful_use"]), bool(value["review_needed"])

    def canonical(self, record_id: str) -> str:
        """The canonical text of the decision of ``record_id``: sorted keys put ``"id"`` between the parts."""
        items = (self.before, f'"id": {json.dumps(record_id)}', self.after)
        return "{" + ", ".join(item for item in items if item) + "}"


@lru_cache(maxsize=2048)
def _decision_parts(rest: str) -> _DecisionParts:
    """The shared parts of a decision given as its JSON text without its id (the recent ones kept)."""
    return _DecisionParts(rest)


@lru_cache(maxsize=64)
def _ending(outcome: str) -> bytes:
    """The fingerprint text's end after the decision: the outcome (a handful of statuses)."""
    return f"{_canonical(outcome)}]".encode()
