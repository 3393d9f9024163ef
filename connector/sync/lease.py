"""The store lease ``sync:<crm>``: one sync of a CRM at a time, in this process or any other sharing the store.

Every sync takes it here (``bootstrap.App.sync``: the ``sync`` command, the nightly schedule of ``serve``), with
one time-to-live. A lease whose owner process died on this host is taken over at once (``store.locks``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from connector.errors import SyncAlreadyRunning
from connector.store import Store

__all__ = ["SYNC_LEASE_TTL", "lease_name", "sync_lease"]

SYNC_LEASE_TTL = timedelta(hours=12)
"""Longer than any sync runs: only a lease left behind on another host waits this long to be taken over."""


def lease_name(crm: str) -> str:
    return f"sync:{crm}"


@contextmanager
def sync_lease(store: Store, crm: str, owner: str, *, now: datetime) -> Iterator[str]:
    """Hold ``crm``'s sync lease for ``owner`` (``host:pid[:role]``) while the block runs; yields its name.

    Raises ``SyncAlreadyRunning`` when another owner holds it."""
    name = lease_name(crm)
    if not store.locks.acquire(name, owner, now=now, ttl=SYNC_LEASE_TTL):
        raise SyncAlreadyRunning(f"another sync of {crm} is running")
    try:
        yield name
    finally:
        store.locks.release(name, owner)
