"""A store that cannot be opened or written (a read-only or missing directory, a full disk) gets one clear line
naming its path and exit 2 (it cannot be opened) or 5 (a run failed on it), never a traceback."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event
from typer.testing import CliRunner

from connector.store import open_store
from tests.fakes import FakeCrm

CONFIG = '[salesforce]\nauth = "session"\nsession_id = "unused"\ninstance_url = "http://127.0.0.1:9"\n'


def lawful_crm(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-c", "from connector.cli import app; app()", *args]
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture
def immutable_dir(tmp_path: Path) -> Iterator[Path]:
    """A directory nobody may write, root included (``chattr +i``: tests run as root, so mode 0555 is no test)."""
    if shutil.which("chattr") is None:
        pytest.skip("chattr is not installed")
    directory = tmp_path / "read-only"
    directory.mkdir()
    if subprocess.run(["chattr", "+i", str(directory)], capture_output=True, check=False).returncode != 0:
        pytest.skip("this file system has no immutable attribute")
    try:
        yield directory
    finally:
        subprocess.run(["chattr", "-i", str(directory)], check=True)


def test_a_store_in_a_read_only_directory_exits_2_naming_the_path(
    tmp_path: Path, immutable_dir: Path
) -> None:
    """`runs` and `sync` name the store they cannot create and exit 2."""
    (tmp_path / "lawful-crm.toml").write_text(CONFIG)
    store = immutable_dir / "lawful-crm.db"
    for command in (["runs"], ["sync", "--crm", "salesforce"]):
        refused = lawful_crm(tmp_path, *command, "--store", f"sqlite:///{store}")
        assert refused.returncode == 2, (command, refused.stdout, refused.stderr)
        assert f"the store {store} cannot be opened" in refused.stderr
        assert "Traceback" not in refused.stderr + refused.stdout


def test_a_store_path_through_a_regular_file_exits_2_naming_the_path(tmp_path: Path) -> None:
    """A store whose directory is a file (a typo in [store] url) is a configuration error, not a traceback,
    for every command that opens the store."""
    (tmp_path / "lawful-crm.toml").write_text(CONFIG)
    (tmp_path / "not-a-directory").write_text("")
    store = tmp_path / "not-a-directory" / "lawful-crm.db"
    for command in (["runs"], ["upcoming"], ["report", "--html", str(tmp_path / "report.html")]):
        refused = lawful_crm(tmp_path, *command, "--store", f"sqlite:///{store}")
        assert refused.returncode == 2, (command, refused.stdout, refused.stderr)
        assert f"the store {store} cannot be opened: its directory does not exist" in refused.stderr
        assert "Traceback" not in refused.stderr


def disk_full_after(pages: int | None) -> Any:
    """A store engine factory whose SQLite connections may not grow the file past ``pages`` pages (None: not
    past its size when connected): SQLite's answer is the same SQLITE_FULL a full disk gives."""
    from connector.store import engine as store_engine

    real = store_engine.create_store_engine

    def create(url: str) -> Engine:
        engine = real(url)

        @event.listens_for(engine, "connect")
        def _cap(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            limit = pages if pages is not None else cursor.execute("PRAGMA page_count").fetchone()[0]
            cursor.execute(f"PRAGMA max_page_count={max(int(limit), 1)}")
            cursor.close()

        return engine

    return create


def test_a_full_disk_when_the_store_is_created_exits_2_naming_the_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No room for the store's tables: one line naming it and the cause."""
    import connector.store as store_package
    from connector.cli import app

    monkeypatch.setattr(store_package, "create_store_engine", disk_full_after(2))
    store = tmp_path / "lawful-crm.db"
    result = CliRunner().invoke(app, ["runs", "--store", f"sqlite:///{store}"])
    assert result.exit_code == 2, result.output
    assert f"the store {store} cannot be opened: the disk is full" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_a_disk_that_fills_during_a_sync_fails_the_run_with_exit_5_naming_the_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The run's audit no longer fits: the command says which store is full and exits 5, no traceback."""
    import connector.store as store_package
    from connector import bootstrap
    from connector.cli import app

    store = tmp_path / "lawful-crm.db"
    open_store(f"sqlite:///{store}").close()  # created and migrated while there is room
    (tmp_path / "lawful-crm.toml").write_text(CONFIG + '[store]\nurl = "sqlite:///lawful-crm.db"\n')
    monkeypatch.setattr(store_package, "create_store_engine", disk_full_after(None))
    build, crm = bootstrap.build, FakeCrm.seeded(400)
    fakes = {"salesforce": lambda settings, mapping, *, limiter=None: crm}
    monkeypatch.setattr(
        bootstrap, "build", lambda settings, **kwargs: build(settings, adapters=fakes, **kwargs)
    )
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(
        app, ["sync", "--crm", "salesforce", "--config", str(tmp_path / "lawful-crm.toml")]
    )
    assert result.exit_code == 5, result.output
    assert f"the run failed on the store {store}: the disk is full" in result.output  # the path unbroken
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert os.path.getsize(store) > 0
