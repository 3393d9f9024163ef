"""The account's lists (Lists API v3), kept for the list routes (``api_lists.py``)."""

from __future__ import annotations

import itertools
from typing import Any


class ListBook:
    """The account's lists by id; deleted ones kept restorable."""

    def __init__(self) -> None:
        self.lists: dict[str, dict[str, Any]] = {}
        self.deleted: set[str] = set()
        self._ids = itertools.count(101)

    def next_id(self) -> str:
        return str(next(self._ids))

    def by_name(self, name: str) -> dict[str, Any] | None:
        """The live list called ``name`` (case-insensitive), or None."""
        folded = name.strip().casefold()
        live = (item for key, item in self.lists.items() if key not in self.deleted)
        return next((item for item in live if item["name"].strip().casefold() == folded), None)
