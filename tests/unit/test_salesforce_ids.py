"""Salesforce record ids: key prefixes, the case checksum, 15/18-character forms."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crm_sandbox.salesforce.ids import checksum, make_id, normalize_id, parse_id


def test_checksum_matches_a_real_salesforce_id() -> None:
    """The checksum of a documented real id's first 15 characters equals its last three."""
    assert checksum("003RO0000035WQg") == "YAM"
    assert checksum("001RO000001aBcD") == "YAU"


def test_made_ids_have_the_key_prefix_and_eighteen_characters() -> None:
    """An id starts with the object's key prefix and is 18 characters long."""
    record_id = make_id("003", 42)
    assert record_id.startswith("003")
    assert len(record_id) == 18
    assert record_id[15:] == checksum(record_id[:15])


@given(
    st.integers(min_value=0, max_value=62**10 - 1),
    st.sampled_from(["001", "003", "00Q", "006", "0PK", "0PS"]),
)
def test_an_id_parses_back_to_its_prefix_and_index(index: int, prefix: str) -> None:
    """parse_id inverts make_id for any index and prefix."""
    assert parse_id(make_id(prefix, index)) == (prefix, index)


def test_fifteen_character_ids_normalise_to_the_eighteen_character_form() -> None:
    """A 15-character id is accepted and gets its checksum appended."""
    record_id = make_id("00Q", 7)
    assert normalize_id(record_id[:15]) == record_id


def test_a_wrong_checksum_or_length_is_malformed() -> None:
    """Ids with a bad suffix, bad length or bad characters are rejected."""
    record_id = make_id("003", 1)
    assert normalize_id(record_id[:15] + "ZZZ") is None
    assert normalize_id("003xx") is None
    assert normalize_id("003-00000000000") is None


def test_ids_sort_in_index_order() -> None:
    """Ids of increasing index sort in the same order, so Id order is creation order."""
    ids = [make_id("003", index) for index in (0, 9, 10, 61, 62, 1000, 123456)]
    assert sorted(ids) == ids


def test_negative_indexes_are_refused() -> None:
    """A negative index cannot become an id."""
    with pytest.raises(ValueError):
        make_id("003", -1)
