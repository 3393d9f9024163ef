"""The audit's JSON values (facts, decision, written values) as compact bytes, read back exactly as they were kept.

A value is its compact JSON (key order kept), deflated with a preset dictionary of typical facts, decisions and
reason texts (``zdict``): a decision's reason texts, field names and codes repeat across records, so they cost a
few bytes each instead of hundreds. The record id that facts and decisions start with is left out and put back
from the entry's own record id. Per-record facts differ by their dates, so a compressed copy in the entry costs
less than a reference to a shared copy and its index.

The first byte names the format: ``1`` the value without its leading ``"id"`` (equal to the record id), ``2`` the
value as given; both deflated with ``ZDICT_1``. Pure functions, the same on every backend.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from connector.store.zdict import ZDICT_1

__all__ = ["pack", "pack_json", "pack_shared", "pack_without_id", "unpack", "without_id"]

_ID_LEFT_OUT = 1
_AS_GIVEN = 2


_PRIMED = zlib.compressobj(9, zlib.DEFLATED, -15, 8, zlib.Z_DEFAULT_STRATEGY, zdict=ZDICT_1)
"""A compressor that has read the dictionary: each value starts from a copy (reading the dictionary again for
every value would cost more than compressing the value). Memory level 8 (zlib's default) makes the copy a third
cheaper than 9 and, for values of this size, the same bytes."""


def _deflate(text: str) -> bytes:
    squeeze = _PRIMED.copy()
    return squeeze.compress(text.encode()) + squeeze.flush()


def _inflate(data: bytes) -> str:
    return zlib.decompressobj(-15, zdict=ZDICT_1).decompress(data).decode()


def _text(value: Mapping[str, Any], record_id: str | None) -> tuple[int, str]:
    """The format byte and the JSON text stored for ``value``."""
    items = dict(value)
    fmt = _AS_GIVEN
    if record_id is not None and next(iter(items), None) == "id" and items["id"] == record_id:
        del items["id"]
        fmt = _ID_LEFT_OUT
    return fmt, json.dumps(items, separators=(",", ":"), ensure_ascii=False)


def pack(value: Mapping[str, Any], record_id: str | None = None) -> bytes:
    """``value`` as stored; a leading ``"id"`` equal to ``record_id`` is left out (put back by ``unpack``)."""
    fmt, text = _text(value, record_id)
    return bytes((fmt,)) + _deflate(text)


def without_id(text: str, record_id: str | None) -> str | None:
    """The compact JSON text of a value without its leading ``"id"`` item, when that item is ``record_id``
    (what ``pack`` stores of it); None when the value does not start with that id."""
    if record_id is None:
        return None
    lead = f'{{"id":{json.dumps(record_id, ensure_ascii=False)}'
    if text.startswith(lead + ","):
        return "{" + text[len(lead) + 1 :]
    return "{}" if text == lead + "}" else None


def pack_json(text: str, record_id: str | None = None) -> bytes:
    """``pack(value, record_id)`` from ``value``'s compact JSON text (a model's own JSON gives the same bytes)."""
    rest = without_id(text, record_id)
    return bytes((_AS_GIVEN,)) + _deflate(text) if rest is None else pack_without_id(rest)


def pack_without_id(rest: str) -> bytes:
    """``pack_json`` of a value whose leading ``"id"`` is its record's, given the JSON text of the rest."""
    return bytes((_ID_LEFT_OUT,)) + _deflate(rest)


@lru_cache(maxsize=256)
def _packed(fmt: int, text: str) -> bytes:
    return bytes((fmt,)) + _deflate(text)


def pack_shared(value: Mapping[str, Any], record_id: str | None = None) -> bytes:
    """``pack(value, record_id)`` for a value many entries share (written values: a page's ``checked`` time and
    a few combinations of flags), deflated once per distinct text while it stays among the recent ones."""
    return _packed(*_text(value, record_id))


def unpack(data: bytes, record_id: str | None = None) -> dict[str, Any]:
    """The value ``pack`` was given, keys in the same order."""
    fmt, body = data[0], bytes(data[1:])
    value: dict[str, Any] = json.loads(_inflate(body))
    if fmt == _ID_LEFT_OUT:
        if record_id is None:
            raise ValueError("this value needs its record id to be read")
        return {"id": record_id, **value}
    if fmt != _AS_GIVEN:
        raise ValueError(f"unknown audit value format {fmt}")
    return value
