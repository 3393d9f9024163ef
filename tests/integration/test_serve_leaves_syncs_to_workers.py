"""Exactly one scheduler runs the nightly sync: serve's, unless ``lawful-crm worker`` processes drain the queue
(``run_worker = false`` on PostgreSQL), whose periodic task then owns it and serve's schedule only keeps house."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from connector.commands import serve
from connector.store.tables import runs
from tests.dnc_keys import TEST_KEY_HEX

pytest.importorskip("procrastinate")


def configured(tmp_path: Path, store_url: str, *, run_worker: bool) -> serve._Process:
    config = tmp_path / "lawful-crm.toml"
    config.write_text(
        f"""
[salesforce]
auth = "session"
session_id = "unused-token"
instance_url = "http://127.0.0.1:9"

[store]
url = "{store_url}"

[webhooks]
run_worker = {str(run_worker).lower()}
""",
        encoding="utf-8",
    )
    return serve._configure(config, None)


@pytest.fixture(autouse=True)
def dnc_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAWFUL_CRM_DNC_KEY", TEST_KEY_HEX)


def test_with_workers_draining_serve_keeps_house_and_runs_no_sync(
    postgres_schema_url: str, tmp_path: Path
) -> None:
    process = configured(tmp_path, postgres_schema_url, run_worker=False)
    try:
        serve._assign_work(process)
        assert process.workers_sync and "worker" not in process.threads
        scheduler = process.scheduler()
        scheduler.fire()  # the scheduled time comes
        with process.store.engine.connect() as db:
            assert db.execute(select(func.count()).select_from(runs)).scalar_one() == 0
        assert process.metrics.total("lawful_crm_syncs_total") == 0
    finally:
        process.app.close()


@pytest.mark.parametrize("run_worker", [True, False])
def test_on_sqlite_serve_schedules_the_sync_itself(tmp_path: Path, *, run_worker: bool) -> None:
    process = configured(tmp_path, f"sqlite:///{tmp_path / 'store.db'}", run_worker=run_worker)
    try:
        serve._assign_work(process)
        assert not process.workers_sync
        assert process.scheduler().crms == ("salesforce",)
    finally:
        process.app.close()


def test_on_postgresql_a_serve_that_drains_itself_schedules_the_sync(
    postgres_schema_url: str, tmp_path: Path
) -> None:
    process = configured(tmp_path, postgres_schema_url, run_worker=True)
    try:
        serve._assign_work(process)
        assert not process.workers_sync
        assert process.scheduler().crms == ("salesforce",)
    finally:
        process.app.close()
