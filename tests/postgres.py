"""The store suites on both databases: an SQLite file and a real PostgreSQL server.

``store_url`` is parametrised over ``sqlite`` and ``postgresql``. The PostgreSQL server is named by
``LAWFUL_CRM_TEST_POSTGRES_URL`` (default: the local server every development machine and CI run). Each test
run works in a schema of its own (``lawful_crm_test_<random>``), so parallel runs on one server never meet; each
test gets its own schema below that name, dropped after the test, and the run drops whatever is left at its end.

When no server answers, the PostgreSQL variants are skipped and the run says so in its header and its summary;
with ``LAWFUL_CRM_REQUIRE_POSTGRES=1`` (CI) they fail instead.
"""

from __future__ import annotations

import itertools
import os
import secrets
from collections.abc import Iterator
from urllib.parse import quote

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

__all__ = ["POSTGRES_URL", "postgres_url_for"]

POSTGRES_URL = os.environ.get(
    "LAWFUL_CRM_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REQUIRED = os.environ.get("LAWFUL_CRM_REQUIRE_POSTGRES") == "1"
RUN_SCHEMA = f"lawful_crm_test_{secrets.token_hex(4)}"

_numbers = itertools.count(1)
_state: dict[str, object] = {"checked": False, "problem": None, "skipped": 0}


def postgres_url_for(schema: str) -> str:
    """The server's URL with every connection's search path set to ``schema`` (tables, Alembic, jobs)."""
    url = make_url(POSTGRES_URL)
    options = quote(f"-csearch_path={schema}")
    return url.render_as_string(hide_password=False) + ("&" if url.query else "?") + f"options={options}"


def _admin(sql: str) -> None:
    engine = create_engine(POSTGRES_URL, connect_args={"connect_timeout": 3})
    try:
        with engine.begin() as db:
            db.execute(text(sql))
    finally:
        engine.dispose()


def _server_problem() -> str | None:
    """None when the server answers, else why not (checked once per run)."""
    if not _state["checked"]:
        _state["checked"] = True
        try:
            _admin("SELECT 1")
        except (OperationalError, ImportError) as error:  # no server, or no driver installed
            _state["problem"] = type(error).__name__
    problem = _state["problem"]
    return None if problem is None else str(problem)


def _display_url() -> str:
    return make_url(POSTGRES_URL).render_as_string(hide_password=True)


@pytest.fixture
def postgres_schema_url() -> Iterator[str]:
    """The URL of a fresh, empty PostgreSQL schema for this test (dropped afterwards); skips or fails when
    no server answers."""
    problem = _server_problem()
    if problem is not None:
        message = f"PostgreSQL at {_display_url()} did not answer ({problem})"
        if REQUIRED:
            pytest.fail(f"{message}; LAWFUL_CRM_REQUIRE_POSTGRES=1 requires it")
        _state["skipped"] = int(str(_state["skipped"])) + 1
        pytest.skip(message)
    schema = f"{RUN_SCHEMA}_{next(_numbers)}"
    _admin(f"CREATE SCHEMA {schema}")
    try:
        yield postgres_url_for(schema)
    finally:
        _admin(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The URL of an empty store: an SQLite file, or a PostgreSQL schema of its own."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('store') / 'store.db'}"
    return str(request.getfixturevalue("postgres_schema_url"))


def pytest_report_header() -> str:
    return f"store suites also on PostgreSQL at {_display_url()} (schema prefix {RUN_SCHEMA})"


def pytest_sessionfinish() -> None:
    """Drop any schema of this run that a killed test left behind."""
    if not _state["checked"] or _state["problem"] is not None:
        return
    engine = create_engine(POSTGRES_URL, connect_args={"connect_timeout": 3})
    try:
        with engine.begin() as db:
            names = db.execute(
                text("SELECT nspname FROM pg_namespace WHERE nspname LIKE :prefix"),
                {"prefix": f"{RUN_SCHEMA}%"},
            ).scalars()
            for name in list(names):
                db.execute(text(f"DROP SCHEMA IF EXISTS {name} CASCADE"))
    finally:
        engine.dispose()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    skipped = int(str(_state["skipped"]))
    if skipped:
        terminalreporter.write_sep(
            "!",
            f"PostgreSQL at {_display_url()} did not answer ({_state['problem']}): {skipped} PostgreSQL store "
            "tests SKIPPED; start it, or set LAWFUL_CRM_TEST_POSTGRES_URL",
            red=True,
            bold=True,
        )
