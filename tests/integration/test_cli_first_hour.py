"""What a new admin meets in the first hour: ``--version``, help without value types on flags, a broken
configuration file named with its line (exit 2), and ``serve`` on a port in use ending with an error status."""

from __future__ import annotations

import os
import socket
import subprocess
from importlib.metadata import version
from pathlib import Path

from tests.integration.test_webhook_serve import LAWFUL_CRM, write_config


def run(*args: str, cwd: Path | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [LAWFUL_CRM, *args], capture_output=True, text=True, cwd=cwd, timeout=timeout,
        env={**os.environ, "COLUMNS": "200"},
    )  # fmt: skip


def test_version_prints_the_installed_version() -> None:
    shown = run("--version")
    assert (shown.returncode, shown.stdout.strip()) == (0, f"lawful-crm {version('lawful-crm')}")


def test_flags_in_help_show_no_value_type() -> None:
    shown = run("sync", "--help")
    assert shown.returncode == 0 and "--dry-run" in shown.stdout
    assert "<bool>" not in shown.stdout
    assert "<path>" in shown.stdout, "options that take a value still say which"


def test_a_configuration_file_that_is_no_toml_is_named_with_its_line(tmp_path: Path) -> None:
    (tmp_path / "lawful-crm.toml").write_text('[store\nurl = "sqlite:///x.db"\n', encoding="utf-8")
    for args in (
        ["mappings", "check", "--offline"],
        ["mappings", "check", "--offline", "--config", "lawful-crm.toml"],
    ):
        shown = run(*args, cwd=tmp_path)
        assert shown.returncode == 2, shown.stderr
        assert "lawful-crm.toml is not valid TOML" in shown.stderr and "line 1" in shown.stderr
        assert "Traceback" not in shown.stderr


def test_serve_on_a_port_in_use_exits_with_a_usage_error(tmp_path: Path) -> None:
    config = write_config(tmp_path / "lawful-crm.toml", tmp_path / "store.db", run_worker=False)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        shown = run("serve", "--config", str(config), "--port", str(port))
    assert shown.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in shown.stderr
