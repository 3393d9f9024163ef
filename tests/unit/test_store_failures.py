"""The store speaks the connector's errors: a database failure leaves it as StoreUnavailable, without its text."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.exc import OperationalError

from connector.errors import RetriableError, StoreUnavailable
from connector.store import NewEvent, open_store


def test_a_queue_whose_database_fails_raises_store_unavailable_naming_only_the_error_type(
    tmp_path: Path,
) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'store.db'}")
    with store.engine.begin() as db:
        db.exec_driver_sql("DROP TABLE events")
    now = datetime(2026, 12, 1, tzinfo=UTC)
    try:
        for call in (
            store.queue.pending,
            lambda: store.queue.depth(settled=False),
            lambda: store.queue.enqueue("hubspot", [NewEvent("k1", "contact", "151", "change")], now=now),
        ):
            with pytest.raises(StoreUnavailable) as raised:
                call()
            assert isinstance(raised.value, RetriableError), "the caller tries again later"
            assert isinstance(raised.value.__cause__, OperationalError)
            assert str(raised.value) == "the store failed (OperationalError)", "no driver text, no statement"
    finally:
        store.close()
