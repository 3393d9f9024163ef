"""Garbage collection tuned for a sync run: fewer collections, and none of what existed before the run.

A run allocates millions of short-lived objects (rows, facts, decisions, audit rows), nearly all freed by
reference counting the moment a page is done. CPython's default thresholds (700, 10, 10) still collect every 700
allocations, and the objects of the pages in flight (the page being decided, the one read ahead, the changes
held for a bulk job) live across enough of those collections to reach the oldest generation; its full
collections then scan every object in the process, the interpreter's own and the libraries' included. In a Bulk
API run of 126,298 records they took 12.6 of its 51.4 s (71 full collections).

For the run's length, what exists when it starts is frozen (`gc.freeze`: never scanned, since the run does not
free it) and the youngest generation is collected every 50,000 allocations instead of 700: the same run made 3
collections of the middle generation and no full one, and went from 2,458 to about 3,000 records per second
with the same peak memory (`benchmarks/bench_bulk.py`). Cycles are still collected, later; the thresholds and
the frozen objects are given back when the last run of the process ends (runs may overlap in threads). A
process that froze objects of its own before (a server that forks, say) keeps them frozen: the run then freezes
nothing, so that it thaws nothing of the process's.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["RUN_THRESHOLDS", "run_collection"]

RUN_THRESHOLDS = (50_000, 20, 100)
"""Allocations before a young collection; young collections before a middle one; middle before a full one."""

_lock = threading.Lock()
_runs = 0
_before: tuple[int, int, int] = gc.get_threshold()
_froze = False
"""Whether the first run froze what existed (nothing was frozen before it), to thaw it after the last."""


@contextmanager
def run_collection() -> Iterator[None]:
    """Collect garbage as a sync run wants it (see module docstring) until the last run in the process ends."""
    global _runs, _before, _froze
    with _lock:
        if _runs == 0:
            _before = gc.get_threshold()
            _froze = gc.get_freeze_count() == 0
            if _froze:
                gc.freeze()
            gc.set_threshold(*RUN_THRESHOLDS)
        _runs += 1
    try:
        yield
    finally:
        with _lock:
            _runs -= 1
            if _runs == 0:
                gc.set_threshold(*_before)
                if _froze:
                    gc.unfreeze()
