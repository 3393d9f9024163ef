"""The do-not-call tables: the store owns them with its others (migration 0002 creates them); ``connector.dnc``
reads and writes them.

No table holds a phone number: ``dnc_numbers`` keeps the keyed hash of each E.164 number (``dnc/hashing.py``).

* ``dnc_keys``     the fingerprint of the key the number hashes are made with (``dnc.keys``): a wrong key is refused.
  The key itself lives outside the store, in a key file or the environment.
* ``dnc_secrets``  where stores from before kept the key itself; emptied the first time such a store is opened.
* ``dnc_versions`` one row per import of a list: ``loading`` while rows are written, then ``current``, then
  ``retired`` until its rows are deleted. ``owner`` and ``heartbeat_at`` let a later import clean up after one
  that was killed.
* ``dnc_current``  the pointer: which version of each list is in use, its date and size. Switching it is the
  single short transaction that makes a new copy of a register visible.
* ``dnc_numbers``  (version, number hash) -> the date the number joined the list, where known.
"""

from __future__ import annotations

from sqlalchemy import Column, Date, Integer, String, Table

from connector.store.tables import Bytes, UtcDateTime, metadata

__all__ = ["dnc_current", "dnc_keys", "dnc_numbers", "dnc_secrets", "dnc_versions"]

dnc_secrets = Table(
    "dnc_secrets",
    metadata,
    Column("name", String(40), primary_key=True),
    Column("secret", Bytes, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
)

dnc_keys = Table(
    "dnc_keys",
    metadata,
    Column("name", String(40), primary_key=True),
    Column("fingerprint", Bytes(16), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
)

dnc_versions = Table(
    "dnc_versions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("list", String(16), nullable=False),
    Column("as_of", Date, nullable=False),
    # ``loading``, ``current`` or ``retired``.
    Column("state", String(12), nullable=False),
    # host:pid of the importing process, while loading.
    Column("owner", String(120)),
    Column("started_at", UtcDateTime(), nullable=False),
    Column("heartbeat_at", UtcDateTime(), nullable=False),
)

dnc_current = Table(
    "dnc_current",
    metadata,
    Column("list", String(16), primary_key=True),
    Column("version_id", Integer, nullable=False),
    Column("as_of", Date, nullable=False),
    Column("size", Integer, nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
)

dnc_numbers = Table(
    "dnc_numbers",
    metadata,
    Column("version_id", Integer, primary_key=True, autoincrement=False),
    Column("number_hash", Bytes(16), primary_key=True),
    Column("since", Date),
    sqlite_with_rowid=False,
)
