"""The compact audit (migration 0007) shows every entry exactly as the audit before it did.

``tests/cases/audit-0006.json`` holds the runs, audit entries and record states of 32 records (both CRMs, some
with two entries; written, pending, failed, interrupted and unchanged writes) as a sandbox sync kept them before
0007. ``tests/cases/audit-0006/`` holds what ``audit show`` and ``audit export`` printed for that store with the
code before 0007 (``capture``, run with that code), and the decision counts the run report (and the admin page)
shows for it: what the report reads from the audit. A store built at 0006 and migrated must print the same bytes
and count the same; so must one migrated, downgraded and migrated again. The report's page itself is left out of
the comparison, as it changes with its template; it is rendered from the migrated store. ``explain`` reads no
store.
"""

from __future__ import annotations

import json
import re
import sys
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from connector.admin.overview import collect
from connector.admin.render import render_report
from connector.cli import app
from connector.store import open_store
from connector.store.engine import create_store_engine, downgrade, upgrade
from connector.store.overview import decision_counts

CASES = Path(__file__).parents[1] / "cases"
SOURCE = CASES / "audit-0006.json"
EXPECTED = CASES / "audit-0006"
NOW = datetime(2026, 12, 4, 8, 0, tzinfo=UTC)
WIDE = {"COLUMNS": "250"}
CRMS = ("salesforce", "hubspot")
_EXPORTED_AT = re.compile(r'"exported_at": "[^"]*"')


def _moment(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def build_0006_store(url: str) -> None:
    """A store at revision 0006 holding the entries of ``audit-0006.json`` as that revision kept them."""
    kept = json.loads(SOURCE.read_text(encoding="utf-8"))
    engine = create_store_engine(url)
    upgrade(engine, "0006")
    json_columns = ("counts", "facts", "decision", "written", "phones")
    moments = ("started_at", "finished_at", "decided_at")
    with engine.begin() as db:
        for name in ("runs", "decisions", "record_states"):
            rows = kept[name]
            columns = [
                sa.column(key, sa.JSON if key in json_columns else sa.DateTime if key in moments else None)
                for key in rows[0]
            ]
            for row in rows:
                for key in moments:
                    if key in row:
                        row[key] = _moment(row[key])
                if row.get("as_of"):
                    row["as_of"] = date.fromisoformat(row["as_of"])
            db.execute(sa.insert(sa.table(name, *columns)), rows)
    engine.dispose()


def _records() -> list[tuple[str, str]]:
    kept = json.loads(SOURCE.read_text(encoding="utf-8"))
    return sorted({(row["crm"], row["record_id"]) for row in kept["decisions"]})


def outputs(url: str) -> dict[str, str]:
    """What ``audit show`` and ``audit export`` print for each record (the export's time left out), and the
    report's decision counts of each CRM."""
    runner = CliRunner()
    printed: dict[str, str] = {}
    for crm, record_id in _records():
        shown = runner.invoke(app, ["audit", "show", "--crm", crm, record_id, "--store", url], env=WIDE)
        assert shown.exit_code == 0, shown.output
        printed[f"show-{crm}-{record_id}.txt"] = shown.output
        exported = runner.invoke(app, ["audit", "export", "--crm", crm, record_id, "--store", url])
        assert exported.exit_code == 0, exported.output
        printed[f"export-{crm}-{record_id}.json"] = _EXPORTED_AT.sub('"exported_at": "-"', exported.output)
    engine = create_store_engine(url)
    counts = {
        crm: {"categories": dict(sorted(found.categories.items())), "review": found.review}
        for crm in ("salesforce", "hubspot")
        for found in [decision_counts(engine, crm)]
    }
    engine.dispose()
    printed["decision-counts.json"] = json.dumps(counts, indent=2)
    return printed


def capture(folder: Path) -> None:
    """Write the expected outputs (run with the code before 0007: ``python -m tests.integration.test_audit_compact
    FOLDER``)."""
    folder.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{folder / 'store.db'}"
    build_0006_store(url)
    for name, text in outputs(url).items():
        (folder / name).write_text(text, encoding="utf-8")
    (folder / "store.db").unlink()


def _expected() -> dict[str, str]:
    return {path.name: path.read_text(encoding="utf-8") for path in sorted(EXPECTED.iterdir())}


def _assert_same(printed: dict[str, str]) -> None:
    expected = _expected()
    assert sorted(printed) == sorted(expected)
    for name, text in expected.items():
        assert printed[name] == text, name


def test_a_migrated_store_prints_what_the_audit_before_printed(store_url: str) -> None:
    build_0006_store(store_url)
    engine = create_store_engine(store_url)
    upgrade(engine)
    engine.dispose()
    _assert_same(outputs(store_url))
    store = open_store(store_url, migrate=False)
    try:
        overview = collect(store, ["salesforce", "hubspot"], now=NOW, schedule="0 2 * * *", time_zone="UTC")
    finally:
        store.close()
    assert [view.categories for view in overview.crms] == [
        dict(found.categories.most_common()) for found in (decision_counts_of(store_url, crm) for crm in CRMS)
    ]
    assert "opt_in" in render_report(overview)


def decision_counts_of(url: str, crm: str) -> Any:
    engine = create_store_engine(url)
    try:
        return decision_counts(engine, crm)
    finally:
        engine.dispose()


def test_a_downgraded_and_migrated_again_store_prints_the_same(store_url: str) -> None:
    build_0006_store(store_url)
    engine = create_store_engine(store_url)
    upgrade(engine)
    downgrade(engine, "0006")
    upgrade(engine)
    engine.dispose()
    _assert_same(outputs(store_url))


def test_the_migration_keeps_every_entry_and_shrinks_it(tmp_path: Path) -> None:
    """Every entry survives with its id; the decisions table takes less than a third of its room before."""
    url = f"sqlite:///{tmp_path / 'store.db'}"
    build_0006_store(url)
    engine = create_store_engine(url)

    def entries() -> tuple[list[Any], int]:
        with engine.connect() as db:
            ids = [row[0] for row in db.execute(sa.text("SELECT id FROM decisions ORDER BY id"))]
            size = db.execute(sa.text("SELECT sum(pgsize) FROM dbstat WHERE name = 'decisions'")).scalar_one()
        return ids, int(size)

    ids_before, size_before = entries()
    upgrade(engine)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as db:
        db.exec_driver_sql("VACUUM")
    ids_after, size_after = entries()
    engine.dispose()
    assert ids_after == ids_before
    assert size_after * 3 < size_before


@pytest.mark.parametrize("name", ["show", "export"])
def test_the_expected_outputs_name_every_record(name: str) -> None:
    """The captured outputs cover each record of the source (no record silently left out of the comparison)."""
    shown = {path.name for path in EXPECTED.glob(f"{name}-*")}
    assert len(shown) == len(_records())


if __name__ == "__main__":
    capture(Path(sys.argv[1]))
