"""Do-not-call lists on real SQLite files: import and lookup, atomic replacement (also under SIGKILL), refused
files, no plain number at rest, one query per screened page, the own list, status, and the sync end to end."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import event, inspect

import connector.cli
import connector.store.engine
from connector.dnc.registers import DncRegisters
from connector.dnc.reports import ImportOutcome
from connector.mapping.facts import CompiledMapping
from connector.mapping.load import load_mapping
from connector.models import RegisterList, Screening
from connector.policy import PolicySettings, evaluate
from connector.store import Store, open_store
from connector.store.engine import create_store_engine, upgrade
from connector.sync.run import SyncOptions, run_sync
from connector.sync.screening import PhonesToScreen
from tests.conftest import NOW, facts
from tests.dnc_keys import TEST_KEY
from tests.fakes import EPOCH, FakeCrm

TPS, CTPS, OWN = RegisterList.UK_TPS, RegisterList.UK_CTPS, RegisterList.OWN
OLD, NEW = date(2026, 11, 20), date(2026, 11, 27)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = open_store(f"sqlite:///{tmp_path / 'store.db'}")
    yield opened
    opened.close()


@pytest.fixture
def registers(store: Store) -> DncRegisters:
    return DncRegisters(store, key=TEST_KEY, today=lambda: NOW)


def write(path: Path, *lines: str) -> Path:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def london(i: int) -> str:
    """The i-th of many valid London numbers, as a register file writes it (national digits)."""
    return f"0207{i:07d}"


def listed(registers: DncRegisters, number: str, register: RegisterList, country: str = "GB") -> bool | None:
    """Whether ``number`` is on ``register`` (None: the list gave no screening)."""
    found = registers.screen({"r": PhonesToScreen([number], country)}).get("r", ())
    return next((s.listed for s in found if s.list is register), None)


def dnc_command() -> list[str]:
    """``lawful-crm dnc`` once the group is registered in the main CLI, else the same app run as a module."""
    if any(group.name == "dnc" for group in connector.cli.app.registered_groups):
        return [str(Path(sys.executable).with_name("lawful-crm")), "dnc"]
    return [sys.executable, "-m", "connector.commands.dnc"]


def run_cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [*dnc_command(), *args, "--store", f"sqlite:///{tmp_path / 'store.db'}"]
    return subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False)


def test_an_imported_register_answers_lookups_in_any_format(registers: DncRegisters, tmp_path: Path) -> None:
    listing = write(tmp_path / "tps.txt", "# TPS", "020 7946 0123", "+44 121 496 0123", "", "07400123456")
    report = registers.import_list(TPS, listing, OLD)
    assert report.outcome is ImportOutcome.REPLACED
    assert (report.read, report.stored, report.rejected, report.skipped) == (3, 3, 0, 2)
    assert listed(registers, "+44 (0)20 7946 0123", TPS) is True
    assert listed(registers, "0121-496-0123", TPS) is True
    assert listed(registers, "+447400 123 456", TPS) is True
    assert listed(registers, "020 7946 0124", TPS) is False
    assert listed(registers, "020 7946 0123", CTPS) is None, "a list never imported gives no screening"
    assert listed(registers, "+31 20 123 4567", TPS, "NL") is None, "TPS does not screen Dutch numbers"
    [screening] = registers.screen({"r": PhonesToScreen(["02079460123"], "GB")})["r"]
    assert screening == Screening(list=TPS, listed=True, since=None, checked=OLD)


def test_a_newer_copy_replaces_the_list_and_removed_numbers_no_longer_match(
    registers: DncRegisters, store: Store, tmp_path: Path
) -> None:
    registers.import_list(TPS, write(tmp_path / "old.txt", "020 7946 0123", "020 7946 0124"), OLD)
    report = registers.import_list(TPS, write(tmp_path / "new.txt", "020 7946 0124", "020 7946 0125"), NEW)
    assert report.outcome is ImportOutcome.REPLACED and report.previous == OLD and report.stored == 2
    assert listed(registers, "020 7946 0123", TPS) is False
    assert listed(registers, "020 7946 0125", TPS) is True
    [screening] = registers.screen({"r": PhonesToScreen(["020 7946 0124"], "GB")})["r"]
    assert screening.checked == NEW
    with sqlite3.connect(tmp_path / "store.db") as db:
        assert db.execute("SELECT count(*) FROM dnc_numbers").fetchone() == (2,), (
            "the old copy's rows are gone"
        )
        assert db.execute("SELECT count(*) FROM dnc_versions").fetchone() == (1,)


def test_a_garbage_file_is_refused_with_line_numbers_and_changes_nothing(
    registers: DncRegisters, tmp_path: Path
) -> None:
    registers.import_list(TPS, write(tmp_path / "good.txt", "020 7946 0123"), OLD)
    garbage = ["Lorem ipsum", "+31 20 123 45", "call me maybe", "020 7946 0999", "bestand;kapot"] * 4
    path = write(tmp_path / "garbage.txt", *garbage)
    report = registers.import_list(TPS, path, NEW)
    assert report.outcome is ImportOutcome.REFUSED and not report.ok
    assert report.rejected == 16 and report.rejected_lines[:4] == (1, 2, 3, 5)
    assert set(report.rejected_reasons) <= {"not_a_number", "invalid", "wrong_country"}
    assert listed(registers, "020 7946 0123", TPS) is True
    assert listed(registers, "020 7946 0999", TPS) is False
    assert next(s for s in registers.status() if s.list is TPS).as_of == OLD

    result = run_cli(tmp_path, "import", "--list", "UK_TPS", str(path), "--as-of", NEW.isoformat())
    assert result.returncode == 1, result.stderr
    output = result.stdout + result.stderr
    assert "rejected lines: 1, 2, 3, 5, 6, 7, 8, 10" in output and "refused" in output
    for content in ("Lorem", "123 45", "2012345", "maybe", "kapot"):
        assert content not in output
    nothing = run_cli(tmp_path, "import", "--list", "UK_TPS", str(write(tmp_path / "empty.txt", "# none")))
    assert nothing.returncode == 1
    assert listed(registers, "020 7946 0123", TPS) is True


def test_the_store_holds_no_plain_phone_number(registers: DncRegisters, store: Store, tmp_path: Path) -> None:
    numbers = [london(i) for i in range(200)]
    registers.import_list(TPS, write(tmp_path / "tps.txt", *numbers), OLD)
    registers.import_list(OWN, write(tmp_path / "own.csv", "naam;telefoon", "Jan;020-1234567"), country="NL")
    registers.add_own("+32 470 12 34 56")
    registers.check("+44 20 7946 0123")
    digits = {n[1:] for n in numbers} | {"201234567", "470123456"}
    forms = digits | {f"+44{d}" for d in digits}
    with sqlite3.connect(tmp_path / "store.db") as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        tables = [row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        assert {"dnc_numbers", "dnc_current", "dnc_versions", "dnc_secrets"} <= set(tables)
        for table in tables:
            for row in db.execute(f'SELECT * FROM "{table}"'):
                for value in row:
                    text = value.decode("latin-1") if isinstance(value, bytes) else str(value)
                    assert not any(form in text for form in forms), table
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("store.db*"))
    assert not any(form.encode() in raw for form in forms)


def test_screen_answers_a_page_of_records_in_one_query(
    registers: DncRegisters, store: Store, tmp_path: Path
) -> None:
    registers.import_list(TPS, write(tmp_path / "tps.txt", "0121 496 0123"), OLD)
    registers.import_list(CTPS, write(tmp_path / "ctps.txt", "020 7946 0123"), OLD)
    registers.import_list(RegisterList.BE_DNCM, write(tmp_path / "be.txt", "0470 12 34 56"), OLD)
    registers.import_list(
        RegisterList.NL_BMNR, write(tmp_path / "bmnr.txt", "020-1234567"), date(2021, 6, 30)
    )
    registers.import_list(RegisterList.US_DNC, write(tmp_path / "us.txt", "(212) 555-0199"), OLD)
    registers.add_own("+31 6 1234 5678", since=date(2026, 5, 1))
    page = {
        "gb_company": PhonesToScreen(["+44 20 7946 0123"], "GB"),
        "gb_two_numbers": PhonesToScreen(["07400 123456", "0121 496 0123"], "GB"),
        "be": PhonesToScreen(["0470/12.34.56"], "BE"),
        "fr": PhonesToScreen(["01 23 45 67 89"], "FR"),
        "nl": PhonesToScreen(["020 123 4567"], "NL"),
        "us": PhonesToScreen(["(212) 555-0123"], "US"),
        "own": PhonesToScreen(["0612345678"], "NL"),
        "invalid": PhonesToScreen(["12345"], "NL"),
    }
    page.update({f"bulk{i}": PhonesToScreen([london(i)], "GB") for i in range(1_992)})
    registers.screen(
        {"warm": PhonesToScreen([london(0)], "GB")}
    )  # reads the hash secret, sets up the connection
    statements: list[str] = []
    event.listen(store.engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    found = registers.screen(page)
    queries = [sql for sql in statements if not sql.startswith("PRAGMA")]  # a pooled connection's set-up
    assert len(queries) == 1 and "dnc_numbers" in queries[0]

    def on(record: str) -> dict[str, tuple[bool, date | None, date]]:
        return {s.list.value: (s.listed, s.since, s.checked) for s in found[record]}

    assert on("gb_company") == {
        "UK_TPS": (False, None, OLD),
        "UK_CTPS": (True, None, OLD),
        "OWN": (False, None, NOW),
    }
    assert on("gb_two_numbers")["UK_TPS"] == (True, None, OLD)
    assert on("be") == {"BE_DNCM": (True, None, OLD), "OWN": (False, None, NOW)}
    assert on("fr") == {"OWN": (False, None, NOW)}, "Bloctel was never imported: no screening"
    assert on("nl") == {"NL_BMNR": (True, None, date(2021, 6, 30)), "OWN": (False, None, NOW)}
    assert on("us") == {"US_DNC": (False, None, OLD), "OWN": (False, None, NOW)}
    assert on("own") == {"NL_BMNR": (False, None, date(2021, 6, 30)), "OWN": (True, date(2026, 5, 1), NOW)}
    assert "invalid" not in found
    assert sum(1 for i in range(1_992) if found[f"bulk{i}"][0].listed) == 0


def test_the_own_list_is_edited_in_place_and_keeps_its_dates(registers: DncRegisters, tmp_path: Path) -> None:
    assert registers.add_own("020 7946 0123", "GB", since=date(2026, 3, 1))
    assert not registers.add_own("+44 20 7946 0123", since=date(2026, 9, 1)), "already on it: first date kept"
    own = registers.import_list(OWN, write(tmp_path / "own.txt", "+442079460123", "+31 20 123 4567"), NEW)
    assert own.outcome is ImportOutcome.MERGED and own.stored == 1 and own.duplicates == 1
    [screening] = [
        s for s in registers.screen({"r": PhonesToScreen(["020 7946 0123"], "GB")})["r"] if s.list is OWN
    ]
    assert screening == Screening(list=OWN, listed=True, since=date(2026, 3, 1), checked=NOW)
    assert listed(registers, "020 123 4567", OWN, "NL") is True
    contact = facts(country="GB", dnc=[screening])
    assert "G3" in [r.rule for r in evaluate(contact, now=NOW, settings=PolicySettings()).reasons]

    assert registers.remove_own("+44 20 7946 0123")
    assert not registers.remove_own("+44 20 7946 0123")
    assert listed(registers, "020 7946 0123", OWN) is False
    assert next(s for s in registers.status() if s.list is OWN).size == 1
    assert run_cli(tmp_path, "add", "--list", "OWN", "+44 20 7946 0123").returncode == 0
    assert run_cli(tmp_path, "add", "--list", "UK_TPS", "+44 20 7946 0123").returncode == 2
    assert listed(registers, "020 7946 0123", OWN) is True
    assert run_cli(tmp_path, "remove", "--list", "OWN", "+44 20 7946 0123").returncode == 0
    assert listed(registers, "020 7946 0123", OWN) is False


def test_status_warns_on_stale_lists_and_flags_bmnr_as_legacy(
    registers: DncRegisters, tmp_path: Path
) -> None:
    listing = write(tmp_path / "list.txt", "020 7946 0123")
    registers.import_list(TPS, listing, NOW - timedelta(days=29))
    registers.import_list(CTPS, listing, NOW - timedelta(days=28))
    registers.import_list(
        RegisterList.BE_DNCM, write(tmp_path / "be.txt", "0470 12 34 56"), NOW - timedelta(days=29)
    )
    registers.import_list(RegisterList.NL_BMNR, write(tmp_path / "nl.txt", "020-1234567"), date(2021, 6, 30))
    status = {s.list: s for s in registers.status()}
    assert status[TPS].stale and status[TPS].warnings
    assert not status[CTPS].stale and not status[CTPS].warnings
    assert not status[RegisterList.BE_DNCM].stale, "30 days for the Belgian register"
    assert status[RegisterList.NL_BMNR].legacy and "abolished" in status[RegisterList.NL_BMNR].warnings[0]
    assert not status[RegisterList.US_DNC].imported and status[RegisterList.US_DNC].warnings

    result = run_cli(tmp_path, "status", "--json")
    assert result.returncode == 0, result.stderr
    shown = {entry["list"]: entry for entry in json.loads(result.stdout)}
    assert shown["NL_BMNR"]["legacy"] is True and shown["UK_TPS"]["size"] == 1
    checked = run_cli(tmp_path, "check", "020 7946 0123", "--country", "GB", "--json")
    assert json.loads(checked.stdout)["number"] == "+442079460123"
    assert run_cli(tmp_path, "check", "020 7946 0123").returncode == 2, "a national number needs its country"


def test_a_killed_import_leaves_the_previous_list_in_use_and_the_next_import_cleans_up(
    registers: DncRegisters, tmp_path: Path
) -> None:
    registers.import_list(TPS, write(tmp_path / "old.txt", london(0), london(1)), OLD)
    big = tmp_path / "new.txt"
    with open(big, "w", encoding="utf-8") as out:
        out.writelines(london(i) + "\n" for i in range(1, 500_001))
    db_path = tmp_path / "store.db"
    command = [*dnc_command(), "import", "--list", "UK_TPS", str(big), "--as-of", NEW.isoformat()]
    command += ["--store", f"sqlite:///{db_path}"]
    with subprocess.Popen(
        command, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    ) as child:
        assert child.stderr is not None
        try:
            # The first chunk of the new copy is committed; four more and the switch are still to come.
            for line in child.stderr:
                if "numbers stored" in line:
                    child.send_signal(signal.SIGSTOP)
                    break
            else:
                pytest.fail(f"the import ended before storing: {child.wait()}")
            assert next(s for s in registers.status() if s.list is TPS).as_of == OLD
            child.send_signal(signal.SIGKILL)
            assert child.wait(timeout=30) == -signal.SIGKILL
        finally:
            if child.poll() is None:
                child.kill()

    with sqlite3.connect(db_path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        loading = db.execute("SELECT id FROM dnc_versions WHERE state = 'loading'").fetchall()
        assert len(loading) == 1, "the killed import left a half-copied version behind"
        assert (
            db.execute("SELECT count(*) FROM dnc_numbers WHERE version_id = ?", loading[0]).fetchone()[0] > 0
        )
    assert next(s for s in registers.status() if s.list is TPS).as_of == OLD
    assert listed(registers, london(0), TPS) is True, "the old copy is still whole and in use"
    assert listed(registers, london(400_000), TPS) is False

    report = registers.import_list(TPS, write(tmp_path / "newer.txt", london(2), london(3)), NEW)
    assert report.outcome is ImportOutcome.REPLACED
    assert listed(registers, london(0), TPS) is False and listed(registers, london(3), TPS) is True
    with sqlite3.connect(db_path) as db:
        assert db.execute("SELECT count(*) FROM dnc_versions").fetchone() == (1,)
        assert db.execute("SELECT count(*) FROM dnc_numbers").fetchone() == (2,), "the orphaned rows are gone"


def test_an_import_that_fails_midway_changes_nothing_and_its_rows_are_collected_next_time(
    registers: DncRegisters, tmp_path: Path
) -> None:
    registers.import_list(TPS, write(tmp_path / "old.txt", london(0)), OLD)

    def fail_after_first_chunk(stage: str, count: int) -> None:
        if stage == "stored":
            raise OSError("disk full")

    big = write(tmp_path / "new.txt", *(london(i) for i in range(1, 250_001)))
    with pytest.raises(OSError, match="disk full"):
        registers.import_list(TPS, big, NEW, progress=fail_after_first_chunk)
    assert listed(registers, london(0), TPS) is True and listed(registers, london(5), TPS) is False
    with sqlite3.connect(tmp_path / "store.db") as db:
        assert db.execute(
            "SELECT state FROM dnc_versions WHERE as_of = ?", (NEW.isoformat(),)
        ).fetchall() == [("retired",)]
    registers.import_list(RegisterList.BE_DNCM, write(tmp_path / "be.txt", "0470 12 34 56"), NEW)
    with sqlite3.connect(tmp_path / "store.db") as db:
        assert db.execute("SELECT count(*) FROM dnc_numbers").fetchone() == (2,)


def test_of_two_imports_racing_for_one_list_the_first_to_switch_wins_whole(
    registers: DncRegisters, store: Store, tmp_path: Path
) -> None:
    registers.import_list(TPS, write(tmp_path / "old.txt", london(0)), OLD)
    other = DncRegisters(store, key=TEST_KEY, today=lambda: NOW)
    reports = []

    def the_other_import_finishes_first(stage: str, count: int) -> None:
        if stage == "stored" and not reports:
            reports.append(other.import_list(TPS, write(tmp_path / "b.txt", london(2)), NEW))

    slow = registers.import_list(
        TPS, write(tmp_path / "a.txt", london(1)), NEW, progress=the_other_import_finishes_first
    )
    assert reports[0].outcome is ImportOutcome.REPLACED
    assert slow.outcome is ImportOutcome.CONFLICT and not slow.ok
    assert [listed(registers, london(i), TPS) for i in range(3)] == [False, False, True]
    with sqlite3.connect(tmp_path / "store.db") as db:
        assert db.execute("SELECT count(*) FROM dnc_numbers").fetchone() == (1,)


def test_a_line_with_letters_is_no_number_even_where_keypad_letters_would_make_one(
    registers: DncRegisters, tmp_path: Path
) -> None:
    """phonenumbers reads letters as keypad digits; a register lists digits only, so such lines are rejected."""
    valid = [f"020 7946 {n:04d}" for n in range(100, 130)]
    path = write(tmp_path / "tps.txt", *valid, "garbage line 126 xxxxxxx", "0800 FLOWERS")
    report = registers.import_list(TPS, path, OLD)
    assert report.rejected == 2 and report.rejected_lines == (31, 32)
    assert listed(registers, "020 7946 0123", TPS) is True


def test_migration_0002_adds_and_removes_only_the_do_not_call_tables(tmp_path: Path) -> None:
    engine = create_store_engine(f"sqlite:///{tmp_path / 'migrated.db'}")
    upgrade(engine, "0001")
    before = set(inspect(engine).get_table_names())
    upgrade(engine, "0002")
    assert set(inspect(engine).get_table_names()) - before == {
        "dnc_secrets",
        "dnc_versions",
        "dnc_current",
        "dnc_numbers",
    }
    config = Config()
    config.set_main_option(
        "script_location", str(Path(connector.store.engine.__file__).with_name("migrations"))
    )
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0001")
    assert set(inspect(engine).get_table_names()) == before
    engine.dispose()


MAPPING = CompiledMapping(load_mapping("salesforce"))
CLOCK = lambda: datetime(2026, 11, 28, 2, 0, tzinfo=UTC)  # noqa: E731


def company_contact(phone: str, country: str = "United Kingdom") -> dict[str, Any]:
    return {
        "Email": "buyer@acme.example",
        "Phone": phone,
        "MailingCountry": country,
        "Account.Name": "Acme Ltd",
        "Account.Type": "Prospect",
        "LeadSource": "Web",
        "Email_Opt_In_Date__c": None,
        "HasOptedOutOfEmail": False,
        "DoNotCall": False,
    }


def test_a_uk_company_on_ctps_is_not_called_until_a_newer_ctps_copy_drops_it(
    registers: DncRegisters, store: Store, tmp_path: Path
) -> None:
    crm = FakeCrm()
    contacts = {
        "003000000000001": company_contact("+44 20 7946 0123"),
        "003000000000002": company_contact("020 7946 0124"),
        "003000000000003": company_contact("+31 20 123 4567", "Netherlands"),
    }
    for record_id, fields in contacts.items():
        crm.records[record_id], crm.modified[record_id] = fields, EPOCH

    def sync() -> None:
        run_sync(
            crm,
            MAPPING,
            PolicySettings(),
            store,
            SyncOptions(full=True),
            clock=CLOCK,
            today=NOW,
            screener=registers,
        )

    registers.import_list(CTPS, write(tmp_path / "ctps1.txt", "020 7946 0123", "020 7946 0999"), OLD)
    sync()
    assert crm.records["003000000000001"]["Do_Not_Cold_Call__c"] is True
    assert crm.records["003000000000002"]["Do_Not_Cold_Call__c"] is False
    [entry] = store.audit.history("salesforce", "003000000000001")
    assert {"list": "UK_CTPS", "listed": True, "checked": OLD.isoformat()} in entry.facts["dnc"]

    registers.import_list(CTPS, write(tmp_path / "ctps2.txt", "020 7946 0999"), NEW)
    sync()
    assert crm.records["003000000000001"]["Do_Not_Cold_Call__c"] is False
    assert crm.records["003000000000002"]["Do_Not_Cold_Call__c"] is False
