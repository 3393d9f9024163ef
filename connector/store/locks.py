"""Named leases in the store, so two processes never sync the same CRM at once."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Engine, delete, insert, update
from sqlalchemy.exc import IntegrityError

from connector.store.tables import locks

__all__ = ["Locks"]


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
            try:
                with db.begin_nested():
                    db.execute(insert(locks).values(name=name, owner=owner, expires_at=expires))
            except IntegrityError:
                return False
        return True

    def release(self, name: str, owner: str) -> None:
        with self._engine.begin() as db:
            db.execute(delete(locks).where(locks.c.name == name, locks.c.owner == owner))
