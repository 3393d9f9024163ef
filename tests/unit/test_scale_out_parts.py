"""The pure parts of scaling out: shards split the records exactly, and a bucket's size keeps any window under
the CRM's limit."""

from __future__ import annotations

import pytest

from connector.jobs.shards import shard_of
from connector.store.buckets import BucketSize


def test_every_record_falls_in_exactly_one_shard_and_the_shards_are_even() -> None:
    ids = [str(151 + i * 7) for i in range(4000)]
    shards = [shard_of(record_id, 4) for record_id in ids]
    assert set(shards) == {0, 1, 2, 3}
    assert all(800 <= shards.count(shard) <= 1200 for shard in range(4))
    assert shards == [shard_of(record_id, 4) for record_id in ids], "the same shard on every call"


@pytest.mark.parametrize(("limit", "window_s"), [(100, 10.0), (190, 10.0), (1, 10.0), (250_000, 86_400.0)])
def test_a_full_bucket_and_its_refill_over_one_window_stay_under_the_limit(
    limit: int, window_s: float
) -> None:
    size = BucketSize.within(limit, window_s)
    assert size.burst >= 1 and size.rate > 0
    most_in_a_window = int(size.burst + size.rate * window_s + 1e-9)
    assert 1 <= most_in_a_window <= limit
    assert limit < 10 or most_in_a_window <= limit * 0.9, "a margin for the latency between processes"
