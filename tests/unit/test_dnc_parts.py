"""The pure parts of the do-not-call lists: keyed hash, list-file shapes, refusal, status, combining screenings."""

from __future__ import annotations

import hmac
import io
import itertools
import os
import socket
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta

import pytest

from connector.dnc.hashing import NumberHasher, new_secret
from connector.dnc.lists import LISTS
from connector.dnc.readers import ListFileError, ListReader
from connector.dnc.reports import list_status, refusal
from connector.dnc.screenings import combine
from connector.dnc.sql import hash_ranges
from connector.dnc.staging import is_abandoned
from connector.models import RegisterList, Screening

TODAY = date(2026, 11, 28)


def test_the_keyed_hash_is_hmac_sha256_truncated_to_16_bytes_and_hides_its_secret() -> None:
    secret = new_secret()
    hasher = NumberHasher(secret)
    for number in ("+442079460123", "+31201234567", "+12125550123"):
        assert hasher(number) == hmac.digest(secret, number.encode(), "sha256")[:16]
    assert hasher("+442079460123") != NumberHasher(new_secret())("+442079460123")
    assert secret.hex() not in repr(hasher) and "secret hidden" in repr(hasher)


def read(text: str, column: str | None = None) -> tuple[list[tuple[int, str]], ListReader]:
    reader = ListReader(io.StringIO(text, newline=""), column)
    return list(reader), reader


def test_one_number_a_line_with_blank_lines_and_comments_keeps_physical_line_numbers() -> None:
    lines, reader = read("# TPS full file\n\n020 7946 0123\r\nnot a number\n  \n+44 121 496 0123\n")
    assert lines == [(3, "020 7946 0123"), (4, "not a number"), (6, "+44 121 496 0123")]
    assert reader.skipped == 3 and reader.shape == "lines"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("name,phone,city\nJan,020-1234567,Amsterdam\nPiet,,Utrecht\n", [(2, "020-1234567"), (3, "")]),
        ("Naam;Telefoonnummer\nJan;020-1234567\nKees\n", [(2, "020-1234567"), (3, "")]),
        ("Nom\tNuméro\nJean\t01 23 45 67 89\n", [(2, "01 23 45 67 89")]),
        ('id|Telephone Number|x\n7|"+44 20 7946 0123"|y\n', [(2, "+44 20 7946 0123")]),
        ("020-1234567,2021-01-01\n0612345678,2021-02-01\n", [(1, "020-1234567"), (2, "0612345678")]),
        ("Telefoonnummer\n020-1234567\n", [(2, "020-1234567")]),
    ],
)
def test_csv_files_are_read_from_their_number_column(text: str, expected: list[tuple[int, str]]) -> None:
    lines, reader = read(text)
    assert lines == expected
    assert reader.shape in ("csv", "lines")


def test_a_named_column_is_used_and_an_unknown_one_is_a_shape_error() -> None:
    text = "mobile;fixed\n0612345678;020-1234567\n"
    assert read(text, column="Fixed")[0] == [(2, "020-1234567")]
    with pytest.raises(ListFileError) as error:
        read(text, column="fax")
    assert "0612345678" not in str(error.value)
    with pytest.raises(ListFileError):
        read("name,city\nJan,Amsterdam\n")


def test_a_file_of_garbage_lines_yields_every_line_for_reporting() -> None:
    lines, _ = read("hello\n\x00\x01binary\nworld\n")
    assert [n for n, _ in lines] == [1, 2, 3]


def test_a_file_is_refused_when_it_holds_no_valid_number_or_too_much_garbage() -> None:
    assert refusal(0, 0, 0.1) is not None
    assert refusal(5, 5, 0.1) is not None
    assert refusal(100, 11, 0.1) is not None
    assert refusal(100, 10, 0.1) is None
    assert refusal(100, 0, 0.0) is None


def test_status_warns_when_a_copy_is_older_than_its_lists_screening_interval() -> None:
    tps = list_status(
        LISTS[RegisterList.UK_TPS], as_of=date(2026, 10, 31), size=3, updated_at=None, today=TODAY
    )
    assert tps.age_days == 28 and not tps.stale and not tps.warnings
    tps = list_status(
        LISTS[RegisterList.UK_TPS], as_of=date(2026, 10, 30), size=3, updated_at=None, today=TODAY
    )
    assert tps.stale and "stale" in tps.warnings[0]
    dncm = list_status(
        LISTS[RegisterList.BE_DNCM], as_of=date(2026, 10, 30), size=3, updated_at=None, today=TODAY
    )
    assert dncm.age_days == 29 and not dncm.stale
    missing = list_status(LISTS[RegisterList.US_DNC], as_of=None, size=0, updated_at=None, today=TODAY)
    assert not missing.imported and "never imported" in missing.warnings[0]
    bmnr = list_status(LISTS[RegisterList.NL_BMNR], as_of=TODAY, size=1, updated_at=None, today=TODAY)
    assert bmnr.legacy and "legacy" in bmnr.warnings[0] and "2021-07-01" in bmnr.warnings[0]
    own = list_status(LISTS[RegisterList.OWN], as_of=date(2020, 1, 1), size=9, updated_at=None, today=TODAY)
    assert not own.stale and not own.warnings


def test_screenings_are_combined_conservatively_per_record_and_list() -> None:
    tps, ctps, own = RegisterList.UK_TPS, RegisterList.UK_CTPS, RegisterList.OWN
    checked = {tps: date(2026, 11, 20), ctps: date(2026, 11, 21), own: TODAY}
    listed = {
        b"fixed": [(tps, None)],
        b"mobile": [(own, date(2026, 5, 1))],
        b"other": [(own, date(2026, 3, 1)), (tps, date(2026, 1, 1))],
    }
    wanted = [
        ("a", b"fixed", 44),
        ("a", b"mobile", 44),
        ("b", b"clean", 44),
        ("c", b"french", 33),
        ("d", b"other", 44),
    ]
    found = combine(wanted, checked=checked, listed=listed)
    assert found["a"] == (
        Screening(list=tps, listed=True, since=None, checked=date(2026, 11, 20)),
        Screening(list=ctps, listed=False, checked=date(2026, 11, 21)),
        Screening(list=own, listed=True, since=date(2026, 5, 1), checked=TODAY),
    )
    assert [s.listed for s in found["b"]] == [False, False, False]
    assert found["c"] == (Screening(list=own, listed=False, checked=TODAY),), "no French register is imported"
    assert [(s.list, s.since) for s in found["d"] if s.listed] == [
        (tps, date(2026, 1, 1)),
        (own, date(2026, 3, 1)),
    ]


def test_a_hash_listed_on_a_list_of_another_country_does_not_count() -> None:
    found = combine(
        [("a", b"h", 33)],
        checked={RegisterList.UK_TPS: TODAY, RegisterList.FR_BLOCTEL: TODAY},
        listed={b"h": [(RegisterList.UK_TPS, None)]},
    )
    assert found["a"] == (Screening(list=RegisterList.FR_BLOCTEL, listed=False, checked=TODAY),)


def test_hash_ranges_cover_the_whole_space_without_overlap() -> None:
    assert hash_ranges(10) == [(None, None)]
    ranges = hash_ranges(1_000_000, per_chunk=250_000)
    assert len(ranges) == 4 and ranges[0][0] is None and ranges[-1][1] is None
    assert all(high == low for (_, high), (low, _) in itertools.pairwise(ranges))


def test_a_loading_version_counts_as_abandoned_when_its_importer_is_dead_or_silent() -> None:
    now = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
    here = socket.gethostname()
    assert not is_abandoned(f"{here}:{os.getpid()}", now, now)
    assert is_abandoned(f"{here}:{os.getpid()}", now - timedelta(minutes=16), now)
    assert not is_abandoned("elsewhere:1", now - timedelta(minutes=5), now), "another host's live import"
    assert is_abandoned("elsewhere:1", now - timedelta(hours=1), now)
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    assert is_abandoned(f"{here}:{child.pid}", now, now), "a process of this host that is gone"
