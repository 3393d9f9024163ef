"""Group commit: the events of deliveries arriving together are stored in one transaction, then each is answered.

Every acknowledgement still follows the commit that holds its events (nothing acknowledged is ever lost), but
ten deliveries arriving within a millisecond cost one transaction instead of ten, and the event loop hands work
to one long-lived writer thread instead of a thread pool.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from connector.store.queue import Enqueued, EventQueue, NewEvent

__all__ = ["GroupCommitter"]

log = logging.getLogger("lawful_crm.webhooks")

MAX_GROUP = 64
"""Deliveries stored in one transaction at most (at most 64 × 100 events)."""


@dataclass(frozen=True, slots=True)
class _Delivery:
    crm: str
    events: Sequence[NewEvent]
    future: asyncio.Future[Enqueued]
    loop: asyncio.AbstractEventLoop


def _settle(future: asyncio.Future[Enqueued], result: Enqueued | None, error: BaseException | None) -> None:
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        assert result is not None
        future.set_result(result)


class GroupCommitter:
    def __init__(self, events: EventQueue, clock: Callable[[], datetime]) -> None:
        self._events, self._clock = events, clock
        self._inbox: queue.SimpleQueue[_Delivery | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="lawful-crm-intake", daemon=True)
        self._thread.start()

    async def store(self, crm: str, events: Sequence[NewEvent]) -> Enqueued:
        """Store one delivery's events; returns once they are committed (or raises what the store raised)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Enqueued] = loop.create_future()
        self._inbox.put(_Delivery(crm, events, future, loop))
        return await future

    def close(self) -> None:
        self._inbox.put(None)
        self._thread.join(5)

    def _run(self) -> None:
        while (first := self._inbox.get()) is not None:
            group = [first]
            while len(group) < MAX_GROUP:
                try:
                    item = self._inbox.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    self._commit(group)
                    return
                group.append(item)
            self._commit(group)

    def _commit(self, group: list[_Delivery]) -> None:
        try:
            results = self._events.enqueue_many([(d.crm, d.events) for d in group], now=self._clock())
        except Exception as error:  # handed to each waiting request, which answers 503
            for delivery in group:
                delivery.loop.call_soon_threadsafe(_settle, delivery.future, None, error)
            return
        for delivery, result in zip(group, results, strict=True):
            delivery.loop.call_soon_threadsafe(_settle, delivery.future, result, None)
