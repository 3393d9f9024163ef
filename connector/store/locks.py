"""Named leases in the store, so two processes never sync the same CRM at once.

Owners are named ``host:pid[:role]``; a lease whose owner process has died on this host is taken over at once
instead of blocking syncs until it expires.
"""

from __future__ import annotations

import os
import socket
from datetime import datetime, timedelta

from sqlalchemy import Engine, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from connector.store.tables import locks

__all__ = ["Locks", "owner_gone"]


class Locks:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def acquire(self, name: str, owner: str, *, now: datetime, ttl: timedelta) -> bool:
        """Take the lease ``name`` for ``owner`` unless another owner holds an unexpired one."""
        expires = now + ttl
        with self._engine.begin() as db:
            taken = db.execute(
                update(locks)
                .where(locks.c.name == name, (locks.c.owner == owner) | (locks.c.expires_at < now))
                .values(owner=owner, expires_at=expires)
            ).rowcount
            if taken:
                return True
            holder = db.execute(select(locks.c.owner).where(locks.c.name == name)).scalar_one_or_none()
            if holder is not None and owner_gone(holder):
                # its process died (killed, crashed) on this machine: the lease is free before it expires
                db.execute(update(locks).where(locks.c.name == name).values(owner=owner, expires_at=expires))
                return True
            try:
                with db.begin_nested():
                    db.execute(insert(locks).values(name=name, owner=owner, expires_at=expires))
            except IntegrityError:
                return False
        return True

    def held(self, name: str, *, now: datetime) -> bool:
        """Whether a process that may still run holds the unexpired lease ``name``."""
        with self._engine.connect() as db:
            row = db.execute(select(locks.c.owner, locks.c.expires_at).where(locks.c.name == name)).first()
        return row is not None and row.expires_at > now and not owner_gone(row.owner)

    def release(self, name: str, owner: str) -> None:
        with self._engine.begin() as db:
            db.execute(delete(locks).where(locks.c.name == name, locks.c.owner == owner))


def owner_gone(owner: str) -> bool:
    """Whether ``owner`` (``host:pid[:role]``) names a process on this host that no longer runs (sync leases,
    claimed webhook events); an owner on another host is never taken for gone."""
    host, _, rest = owner.partition(":")
    pid_text = rest.split(":", 1)[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False
