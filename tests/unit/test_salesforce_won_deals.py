"""The packed table of won deals a Bulk full pull looks accounts up in: the answers of a dict of the latest dates."""

from __future__ import annotations

import random
import string

import pytest

from connector.crm.salesforce import won_deals
from connector.crm.salesforce.won_deals import WonDeals


def latest(deals: list[tuple[str, str]]) -> dict[str, str]:
    """What the table must answer: the greatest close date per 15-character account id."""
    dates: dict[str, str] = {}
    for account, closed in deals:
        if closed > dates.get(account[:15], ""):
            dates[account[:15]] = closed
    return dates


def some_deals(count: int, accounts: int, seed: int = 1) -> list[tuple[str, str]]:
    draw = random.Random(seed)
    ids = ["001" + "".join(draw.choices(string.ascii_letters + string.digits, k=15)) for _ in range(accounts)]
    ids += ["001short", "001Äccount-not-ascii", "001" + "x" * 12]  # 15 characters: packed
    return [
        (draw.choice(ids), f"20{draw.randint(10, 26)}-{draw.randint(1, 12):02d}-{draw.randint(1, 28):02d}")
        for _ in range(count)
    ]


@pytest.mark.parametrize("batch", [1, 7, 1000])
def test_each_account_gets_its_latest_close_date_whatever_the_batches(batch: int) -> None:
    deals = some_deals(3000, 800)
    expected = latest(deals)
    table = WonDeals(deals, batch=batch)
    assert len(table) == len(expected)
    for account in {account for account, _ in deals}:
        assert table.get(account[:15]) == expected[account[:15]]
    assert table.get("001nowonde00000") is None and table.get("") is None and table.get("0" * 15) is None


def test_ids_sharing_a_hash_keep_their_own_dates(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(won_deals, "hash", lambda text: len(text), raising=False)
    deals = [
        ("001A00000000001", "2024-01-02"),
        ("001A00000000002", "2023-05-06"),
        ("001A00000000001", "2025-01-01"),
    ]
    table = WonDeals(deals, batch=2)
    assert table.get("001A00000000001") == "2025-01-01"
    assert table.get("001A00000000002") == "2023-05-06"
    assert table.get("001A00000000003") is None


def test_an_empty_table_finds_nothing() -> None:
    assert WonDeals().get("001A00000000001") is None and len(WonDeals()) == 0
