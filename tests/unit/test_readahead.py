"""Reading the next page ahead: same pages in the same order, errors where they happened, a clean stop."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from connector.crm.readahead import read_ahead


class Pages:
    """A page source that records which pages were produced, and whether it was closed and where."""

    def __init__(self, count: int, *, fail_at: int | None = None) -> None:
        self.count, self.fail_at = count, fail_at
        self.produced: list[int] = []
        self.closed_in: str | None = None
        self.threads: set[str] = set()

    def __iter__(self) -> Iterator[int]:
        try:
            for number in range(self.count):
                self.threads.add(threading.current_thread().name)
                if number == self.fail_at:
                    raise ConnectionError("page query failed")
                self.produced.append(number)
                yield number
        finally:
            self.closed_in = threading.current_thread().name


def test_pages_arrive_in_order_from_a_background_thread() -> None:
    source = Pages(25)
    assert list(read_ahead(iter(source), name="pages")) == list(range(25))
    assert source.threads == {"pages"} and source.closed_in == "pages"


def test_an_error_reaches_the_consumer_after_the_pages_before_it() -> None:
    source = Pages(10, fail_at=4)
    seen: list[int] = []
    with pytest.raises(ConnectionError, match="page query failed"):
        for page in read_ahead(iter(source)):
            seen.append(page)
    assert seen == [0, 1, 2, 3]


def test_stopping_early_stops_the_reader_with_at_most_depth_pages_read_past_the_stop() -> None:
    source = Pages(1000)
    pages = read_ahead(iter(source), depth=2)
    taken = [next(pages) for _ in range(3)]
    pages.close()  # as a guard refusal or --limit ends the loop
    assert taken == [0, 1, 2]
    assert source.closed_in is not None
    assert len(source.produced) <= 3 + 2 + 1  # consumed, queued, and the one in hand when told to stop


def test_reading_ahead_overlaps_the_consumers_work_with_the_next_query() -> None:
    """While the consumer works on page n, page n + 1 is already being read."""
    consumer_working = threading.Event()
    overlapped: list[bool] = []

    def slow_pages() -> Iterator[int]:
        for number in range(4):
            if number > 0:
                overlapped.append(consumer_working.wait(timeout=5))
            yield number

    for _ in read_ahead(slow_pages()):
        consumer_working.set()
        threading.Event().wait(0.05)
        consumer_working.clear()
    assert overlapped == [True, True, True]


def test_depth_must_be_positive() -> None:
    with pytest.raises(ValueError, match="depth"):
        next(read_ahead(iter([1]), depth=0))
