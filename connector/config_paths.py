"""Where the paths of a configuration file point: relative paths are read against that file's directory.

``lawful-crm sync --config /etc/x/lawful-crm.toml`` must open ``/etc/x/lawful-crm.db`` whatever the working
directory is; resolving against the working directory would silently open a new, empty store (no registers, no
own suppression list) and make people callable who asked not to be called. Values from ``LAWFUL_CRM_*``
variables, the ``--store`` option and the defaults are not touched here: they stay relative to the working
directory.

Pure: no I/O beyond ``Path`` arithmetic on the given base directory.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel

__all__ = ["SQLITE_URL", "resolve_config_paths", "resolve_sqlite_url", "sqlite_file"]


class _SqliteUrlMarker:
    """Field metadata: the field holds an SQLAlchemy URL whose SQLite file path is relative to the config file."""

    def __repr__(self) -> str:
        return "SQLITE_URL"


SQLITE_URL = _SqliteUrlMarker()
"""Put in ``Annotated[str, SQLITE_URL]`` on a settings field that holds a store URL."""


def _split_sqlite(url: str) -> tuple[str, str, str] | None:
    """``(scheme, database, query)`` of an SQLite URL (``sqlite`` or ``sqlite+driver``), else None."""
    scheme, sep, rest = url.partition("://")
    if not sep or not (scheme == "sqlite" or scheme.startswith("sqlite+")):
        return None
    if not rest.startswith("/"):
        return scheme, "", ""  # sqlite:// (in memory); a host part means nothing to SQLite
    database, qmark, query = rest[1:].partition("?")
    return scheme, database, qmark + query


def _is_memory(database: str, query: str) -> bool:
    return database in ("", ":memory:") or (database.startswith("file:") and "uri=true" in query)


def sqlite_file(url: str) -> Path | None:
    """The file an SQLite URL names (as written: relative to the working directory if relative), or None for
    an in-memory database, an SQLite URI (``file:…?uri=true``) or any other database."""
    parts = _split_sqlite(url)
    if parts is None or _is_memory(parts[1], parts[2]):
        return None
    return Path(parts[1])


def resolve_sqlite_url(url: str, base: Path) -> str:
    """``url`` with a relative SQLite file path made absolute against ``base``; every other URL unchanged."""
    parts = _split_sqlite(url)
    if parts is None or _is_memory(parts[1], parts[2]) or Path(parts[1]).is_absolute():
        return url
    scheme, database, query = parts
    return f"{scheme}:///{(base / database).as_posix()}{query}"


def _candidates(annotation: Any) -> tuple[Any, ...]:
    """The types a field accepts: ``X | None`` -> ``(X, NoneType)``; ``Annotated`` is already stripped."""
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        return typing.get_args(annotation)
    return (annotation,)


def _resolve_value(value: Any, annotation: Any, metadata: list[Any], base: Path) -> Any:
    kinds = _candidates(annotation)
    if isinstance(value, str):
        if any(marker is SQLITE_URL for marker in metadata):
            return resolve_sqlite_url(value, base)
        if Path in kinds and value and not Path(value).is_absolute():
            return str(base / value)
        return value
    if isinstance(value, Mapping):
        for kind in kinds:
            if isinstance(kind, type) and issubclass(kind, BaseModel):
                return resolve_config_paths(value, kind, base)
    return value


def resolve_config_paths(data: Mapping[str, Any], model: type[BaseModel], base: Path) -> dict[str, Any]:
    """The raw values of one configuration file with every relative path made absolute against ``base``.

    Which values are paths follows from ``model``: fields typed ``Path`` (or ``Path | None``) and fields marked
    ``SQLITE_URL``, in nested tables too; a path added to the settings later is covered without a change here.
    Unknown keys and values of the wrong type pass through for validation to report.
    """
    fields = model.model_fields
    resolved: dict[str, Any] = {}
    for key, value in data.items():
        field = fields.get(key)
        resolved[key] = (
            value if field is None else _resolve_value(value, field.annotation, field.metadata, base)
        )
    return resolved
