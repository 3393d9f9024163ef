"""Why a store cannot be used, in words an admin can act on: its path and the cause, never SQL or its values.

A store in a read-only or missing directory, or on a full disk, fails deep inside SQLite with a driver error.
``store_problem`` names the cause from the error code; commands print it with the store's path instead of a
traceback and exit 2 when the store cannot be opened (``StoreOpenError``), 5 when a run fails on it.
"""

from __future__ import annotations

from connector.errors import ConfigurationError

__all__ = ["StoreOpenError", "store_problem"]

_SQLITE_CAUSES = {
    3: "permission denied",  # SQLITE_PERM
    8: "it is read-only (the file or its directory)",  # SQLITE_READONLY
    10: "a disk read or write failed (is the disk full?)",  # SQLITE_IOERR
    13: "the disk is full",  # SQLITE_FULL
    14: "its directory does not exist, is no directory or cannot be written",  # SQLITE_CANTOPEN
}


class StoreOpenError(ConfigurationError):
    """The store cannot be opened or written where the configuration puts it (exit 2). Unlike the retriable
    ``errors.StoreUnavailable`` of a store that fails while serving, a person must act first."""


def store_problem(error: BaseException) -> str | None:
    """Why the store's file or disk failed (``the disk is full``), for a database error; None for others.

    ``error`` is an SQLAlchemy error (its ``orig`` is the driver's) or the driver's own. Only the SQLite
    error code is read, never the message, which may quote SQL.
    """
    original = getattr(error, "orig", None) or error
    code = getattr(original, "sqlite_errorcode", None)
    if not isinstance(code, int):
        return None
    return _SQLITE_CAUSES.get(code & 0xFF)
