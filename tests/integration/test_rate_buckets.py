"""Rate limits kept in the store (SQLite and PostgreSQL): processes sharing one bucket stay under the CRM's
limit in every window, a refusal holds everyone, and the server's remaining count lowers the tokens."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from connector.store import Store, open_store
from connector.store.buckets import BucketSize, RateBuckets, SharedLimiter

T0 = 1_800_000_000.0


@pytest.fixture
def stores(store_url: str) -> Iterator[tuple[Store, Store]]:
    """Two stores on one database, as two worker processes would open it."""
    one, two = open_store(store_url), open_store(store_url)
    yield one, two
    one.close()
    two.close()


def test_two_processes_taking_greedily_never_pass_the_limit_in_any_window(
    stores: tuple[Store, Store],
) -> None:
    """Both take a token whenever they may, for 40 s of store time: no 10-second window holds more than
    the bucket's share of 100 calls, and together they use most of it."""
    size = BucketSize.within(100, 10.0)
    buckets = [RateBuckets(store.engine) for store in stores]
    taken: list[float] = []
    now = T0
    while now < T0 + 40:
        for bucket in buckets:
            if bucket.take("hubspot:portal", size, now=now) == 0.0:
                taken.append(now)
        now += 0.1
    busiest = max(sum(1 for t in taken if start <= t < start + 10.0) for start in taken)
    assert busiest <= 90
    assert len(taken) >= 4 * 75, "the limit is used, not starved"


def test_a_wait_is_named_when_the_bucket_is_empty(stores: tuple[Store, Store]) -> None:
    """An empty bucket answers how long until the next token instead of granting one."""
    size = BucketSize(burst=2, rate=1.0)
    bucket = RateBuckets(stores[0].engine)
    assert [bucket.take("b", size, now=T0) for _ in range(2)] == [0.0, 0.0]
    wait = bucket.take("b", size, now=T0)
    assert 0.9 <= wait <= 1.0
    assert bucket.take("b", size, now=T0 + wait) == 0.0


def test_a_refusal_holds_every_process_and_the_remaining_count_lowers_the_tokens(
    stores: tuple[Store, Store],
) -> None:
    """After one process is refused (a 429), the other gets no token before the hold ends."""
    clock = [T0]
    one = SharedLimiter(RateBuckets(stores[0].engine), "h", limit=100, window_s=10.0, clock=lambda: clock[0])
    two = RateBuckets(stores[1].engine)
    one.acquire()
    one.pause(3.0)
    assert two.take("h", one.size, now=T0 + 1) == pytest.approx(2.0)
    assert two.take("h", one.size, now=T0 + 3) == 0.0
    one.observe(limit=100, remaining=1, window_ms=10_000)
    assert two.take("h", one.size, now=T0 + 3) > 0, "the server said no call remains: the bucket is empty"
