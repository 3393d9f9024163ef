"""Relative paths in the configuration file point next to that file; the environment's stay with the working
directory; absolute paths, in-memory SQLite and server URLs are never rewritten; no password is ever shown."""

from __future__ import annotations

from pathlib import Path

import pytest

from connector.bootstrap import describe_store
from connector.config_paths import resolve_sqlite_url, sqlite_file
from connector.settings import load_settings

BASE = Path("/etc/lawful-crm")


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("sqlite:///lawful-crm.db", "sqlite:////etc/lawful-crm/lawful-crm.db"),
        ("sqlite:///data/x.db?timeout=5", "sqlite:////etc/lawful-crm/data/x.db?timeout=5"),
        ("sqlite+pysqlite:///x.db", "sqlite+pysqlite:////etc/lawful-crm/x.db"),
        ("sqlite:////var/lib/lawful-crm.db", "sqlite:////var/lib/lawful-crm.db"),
        ("sqlite://", "sqlite://"),
        ("sqlite:///:memory:", "sqlite:///:memory:"),
        ("sqlite:///file:shared?mode=memory&uri=true", "sqlite:///file:shared?mode=memory&uri=true"),
        ("postgresql+psycopg://app:pw@db/lawfulcrm", "postgresql+psycopg://app:pw@db/lawfulcrm"),
    ],
)
def test_only_a_relative_sqlite_file_is_resolved_against_the_base(url: str, expected: str) -> None:
    assert resolve_sqlite_url(url, BASE) == expected


def test_the_sqlite_file_of_a_url_is_known_and_in_memory_databases_have_none() -> None:
    assert sqlite_file("sqlite:///lawful-crm.db") == Path("lawful-crm.db")
    assert sqlite_file("sqlite:////srv/x.db?timeout=5") == Path("/srv/x.db")
    assert sqlite_file("sqlite://") is None and sqlite_file("sqlite:///:memory:") is None
    assert sqlite_file("postgresql://u:p@h/d") is None


def _config(directory: Path, body: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "lawful-crm.toml"
    path.write_text(body, encoding="utf-8")
    return path


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import os

    for name in [name for name in os.environ if name.startswith("LAWFUL_CRM_")]:
        monkeypatch.delenv(name)
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)


def test_relative_paths_in_the_config_file_are_relative_to_that_file(tmp_path: Path) -> None:
    conf = tmp_path / "etc"
    config = _config(
        conf,
        '[store]\nurl = "sqlite:///lawful-crm.db"\n'
        '[salesforce]\nauth = "jwt"\nclient_id = "c"\nusername = "u"\nprivate_key_file = "keys/sf.key"\n'
        'mapping_file = "../mappings/sf.yaml"\n'
        '[hubspot]\naccess_token = "t"\nmapping_file = "hubspot.yaml"\n',
    )
    settings = load_settings(config)
    assert settings.store.url == f"sqlite:///{conf / 'lawful-crm.db'}"
    assert settings.salesforce is not None and settings.hubspot is not None
    assert settings.salesforce.private_key_file == conf / "keys" / "sf.key"
    assert settings.salesforce.mapping_file is not None
    assert settings.salesforce.mapping_file.resolve() == tmp_path / "mappings" / "sf.yaml"
    assert settings.hubspot.mapping_file == conf / "hubspot.yaml"


def test_a_relative_config_path_resolves_against_the_file_not_the_working_directory(tmp_path: Path) -> None:
    _config(tmp_path / "etc", '[store]\nurl = "sqlite:///lawful-crm.db"\n')
    settings = load_settings(Path("../etc/lawful-crm.toml"))
    assert sqlite_file(settings.store.url) is not None
    assert Path(str(sqlite_file(settings.store.url))).resolve() == tmp_path / "etc" / "lawful-crm.db"


def test_absolute_paths_memory_and_server_urls_in_the_config_file_stay_as_written(tmp_path: Path) -> None:
    config = _config(
        tmp_path / "etc",
        '[store]\nurl = "sqlite:////var/lib/lawful-crm/store.db"\n'
        '[hubspot]\naccess_token = "t"\nmapping_file = "/srv/mappings/hubspot.yaml"\n',
    )
    settings = load_settings(config)
    assert settings.store.url == "sqlite:////var/lib/lawful-crm/store.db"
    assert settings.hubspot is not None and settings.hubspot.mapping_file == Path(
        "/srv/mappings/hubspot.yaml"
    )
    for url in ("sqlite://", "postgresql+psycopg://app:pw@db:5432/lawfulcrm"):
        _config(tmp_path / "etc", f'[store]\nurl = "{url}"\n')
        assert load_settings(config).store.url == url


def test_environment_values_and_defaults_stay_relative_to_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = _config(tmp_path / "etc", '[hubspot]\naccess_token = "t"\nmapping_file = "from-file.yaml"\n')
    assert load_settings(config).store.url == "sqlite:///lawful-crm.db"  # the default: the working directory
    monkeypatch.setenv("LAWFUL_CRM_STORE__URL", "sqlite:///env.db")
    monkeypatch.setenv("LAWFUL_CRM_HUBSPOT__MAPPING_FILE", "env-mapping.yaml")
    settings = load_settings(config)
    assert settings.store.url == "sqlite:///env.db"
    assert settings.hubspot is not None and settings.hubspot.mapping_file == Path("env-mapping.yaml")


def test_a_store_is_described_by_its_absolute_path_or_its_url_without_the_password() -> None:
    assert describe_store("sqlite:///lawful-crm.db") == str(Path.cwd() / "lawful-crm.db")
    assert describe_store("sqlite:////srv/x.db") == "/srv/x.db"
    shown = describe_store("postgresql+psycopg://app:s3cr3t-pw@db.internal:5432/lawfulcrm")
    assert "s3cr3t-pw" not in shown
    assert shown == "postgresql+psycopg://app:***@db.internal:5432/lawfulcrm"
