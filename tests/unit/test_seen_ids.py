"""The ids a full pull saw are kept as hashes: every id added is found, ids never added are not, and
reconciliation lists exactly the managed ids the pull did not see."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from connector.sync.reconcile import SeenIds, missing

IDS = st.lists(st.text(alphabet="0123456789ABCDEFabcdef", min_size=15, max_size=18), unique=True)


@given(IDS, IDS)
def test_every_id_added_is_seen_and_the_others_are_not(seen: list[str], others: list[str]) -> None:
    kept = SeenIds(seen[: len(seen) // 2])
    assert all(record_id in kept for record_id in seen[: len(seen) // 2])
    kept.update(seen[len(seen) // 2 :])  # ids added after a question are found too
    assert len(kept) == len(seen)
    assert all(record_id in kept for record_id in seen)
    unseen = [record_id for record_id in others if record_id not in set(seen)]
    assert missing(unseen, kept) == unseen


def test_reconciliation_lists_the_managed_ids_a_pull_did_not_read() -> None:
    pulled = SeenIds(f"003{index:015d}" for index in range(0, 10_000, 2))
    managed = [f"003{index:015d}" for index in range(10_000)]
    assert missing(managed, pulled) == managed[1::2]
