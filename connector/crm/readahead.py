"""Read the next page while the caller works on this one.

A sync alternates between waiting for the CRM (a page of up to 2,000 records takes the CRM a second or more)
and its own work (classify, write back, audit). `read_ahead` runs the page iterator in one background thread
with a queue of `depth` pages, so the next page's query overlaps this page's work: wall time tends to the
larger of the two rather than their sum. Memory stays bounded (at most `depth` + 1 pages held), an error in
the iterator reaches the caller at the page where it happened, and when the caller stops early (a guard
refusal, `--limit`, an exception) the thread is told to stop and the iterator is closed in its own thread.
The pages themselves arrive in the same order, with the same cursors: checkpointing is unchanged.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Generic, TypeVar

__all__ = ["read_ahead"]

T = TypeVar("T")
_POLL_S = 0.1


@dataclass(frozen=True, slots=True)
class _Item(Generic[T]):
    value: T | None = None
    error: BaseException | None = None
    done: bool = False


def read_ahead(pages: Iterator[T], *, depth: int = 1, name: str = "read-ahead") -> Iterator[T]:
    """The items of `pages`, in order, produced up to `depth` items ahead in a background thread."""
    if depth < 1:
        raise ValueError("read-ahead needs a depth of at least one page")
    handoff: queue.Queue[_Item[T]] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def offer(item: _Item[T]) -> bool:
        while not stop.is_set():
            try:
                handoff.put(item, timeout=_POLL_S)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for page in pages:
                if not offer(_Item(value=page)):
                    return
            offer(_Item(done=True))
        except BaseException as error:  # handed to the consumer, who raises it
            offer(_Item(error=error))
        finally:
            close = getattr(pages, "close", None)
            if close is not None:
                close()

    worker = threading.Thread(target=produce, name=name, daemon=True)
    worker.start()
    try:
        while True:
            item = handoff.get()
            if item.error is not None:
                raise item.error
            if item.done:
                return
            yield item.value  # type: ignore[misc]
    finally:
        stop.set()
        worker.join()
