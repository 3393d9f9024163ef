"""An audit entry's facts and decision as the store keeps them: JSON values, packed bytes and fingerprints.

A record written in a sync is kept twice: its pending entry before the write, then its outcome. Both hold the
same facts and decision, so what they become in the store is computed once per record (``Kept``, carried by
the entry) instead of once per keeping: one model dump, one packing and one canonical JSON text each.

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

from connector.store.packing import pack, pack_shared

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

    __slots__ = ("_of", "_prefix", "decision", "facts", "intended", "packed_decision", "packed_facts")

    def __init__(self) -> None:
        self._of: tuple[object, object, str] | None = None
        self.facts: dict[str, Any] = {}
        self.decision: dict[str, Any] = {}
        self.packed_facts = self.packed_decision = b""
        self._prefix: Any = None
        self.intended: Mapping[str, Any] | None = None
        """The written values a pending entry was kept with (``Audit.intend``)."""

    def of(self, facts: ContactFacts, decision: Decision, record_id: str) -> Kept:
        """This memo, filled for ``facts`` and ``decision`` of the record ``record_id``."""
        of = self._of
        if of is None or of[0] is not facts or of[1] is not decision or of[2] != record_id:
            self.facts = facts.model_dump(mode="json", exclude_defaults=True)
            self.decision = decision.model_dump(mode="json")
            self.packed_facts = pack(self.facts, record_id)
            self.packed_decision = pack_shared(self.decision, record_id)
            prefix = f"[{_canonical(self.facts)}, {_canonical(self.decision)}, "
            self._prefix = hashlib.sha256(prefix.encode())
            self.intended = None
            self._of = (facts, decision, record_id)
        return self

    def fingerprint(self, outcome: str) -> str:
        """``fingerprint(facts, decision, outcome)`` from the facts-and-decision part hashed once."""
        digest = self._prefix.copy()
        digest.update(_ending(outcome))
        return str(digest.hexdigest()[:16])


@lru_cache(maxsize=64)
def _ending(outcome: str) -> bytes:
    """The fingerprint text's end after the decision: the outcome (a handful of statuses)."""
    return f"{_canonical(outcome)}]".encode()
