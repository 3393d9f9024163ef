"""The do-not-call lists on both store databases (SQLite and PostgreSQL): import and lookup, atomic
replacement, the own list edited in place, and the sync screening a page through them. The SQLite-only
details (file contents, the write-ahead log, a SIGKILL mid-import) are in test_dnc_registers.py."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select

from connector.dnc.registers import DncRegisters
from connector.dnc.reports import ImportOutcome
from connector.models import RegisterList
from connector.store import Store, open_store
from connector.sync.screening import PhonesToScreen
from tests.conftest import NOW
from tests.dnc_keys import TEST_KEY

TPS, OWN = RegisterList.UK_TPS, RegisterList.OWN
OLD, NEW = date(2026, 11, 20), date(2026, 11, 27)


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    opened = open_store(store_url)
    yield opened
    opened.close()


@pytest.fixture
def registers(store: Store) -> DncRegisters:
    return DncRegisters(store, key=TEST_KEY, today=lambda: NOW)


def write(path: Path, *lines: str) -> Path:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def listed(registers: DncRegisters, number: str, register: RegisterList, country: str = "GB") -> bool | None:
    found = registers.screen({"r": PhonesToScreen([number], country)}).get("r", ())
    return next((s.listed for s in found if s.list is register), None)


def rows(store: Store, table: str) -> int:
    from connector.store.tables import metadata

    with store.engine.connect() as db:
        return int(db.execute(select(func.count()).select_from(metadata.tables[table])).scalar_one())


def test_a_register_is_imported_replaced_whole_and_its_old_rows_removed(
    registers: DncRegisters, store: Store, tmp_path: Path
) -> None:
    first = registers.import_list(TPS, write(tmp_path / "old.txt", "020 7946 0123", "020 7946 0124"), OLD)
    assert first.outcome is ImportOutcome.REPLACED and first.stored == 2
    assert listed(registers, "+44 20 7946 0123", TPS) is True
    second = registers.import_list(TPS, write(tmp_path / "new.txt", "020 7946 0124", "020 7946 0125"), NEW)
    assert second.outcome is ImportOutcome.REPLACED and second.previous == OLD
    assert listed(registers, "020 7946 0123", TPS) is False
    assert listed(registers, "020 7946 0125", TPS) is True
    assert rows(store, "dnc_numbers") == 2, "the old copy's rows are gone"
    assert rows(store, "dnc_versions") == 1


def test_the_own_list_is_edited_in_place_and_counted(registers: DncRegisters, tmp_path: Path) -> None:
    assert registers.add_own("020 7946 0123", "GB", since=date(2026, 3, 1))
    assert not registers.add_own("+44 20 7946 0123"), "already on it"
    merged = registers.import_list(OWN, write(tmp_path / "own.txt", "+442079460123", "+31 20 123 4567"), NEW)
    assert merged.outcome is ImportOutcome.MERGED and merged.stored == 1 and merged.duplicates == 1
    assert listed(registers, "020 123 4567", OWN, "NL") is True
    assert registers.remove_own("+44 20 7946 0123")
    assert listed(registers, "020 7946 0123", OWN) is False
    assert next(s for s in registers.status() if s.list is OWN).size == 1


def test_a_page_of_records_is_screened_in_one_answer(registers: DncRegisters, tmp_path: Path) -> None:
    registers.import_list(TPS, write(tmp_path / "tps.txt", *(f"0207{i:07d}" for i in range(0, 400, 2))), OLD)
    page = {f"r{i}": PhonesToScreen([f"0207{i:07d}"], "GB") for i in range(400)}
    found = registers.screen(page)
    assert sum(1 for i in range(400) if found[f"r{i}"][0].listed) == 200
    assert all(found[f"r{i}"][0].listed == (i % 2 == 0) for i in range(400))
