"""``lawful-crm doctor`` on the sandboxes: missing fields and unset webhooks are warnings with the command that
fixes them, refused credentials fail it, and nothing is changed."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from connector.cli import app
from crm_sandbox.config import sandbox_toml
from crm_sandbox.launch import Sandboxes, running_sandboxes


@pytest.fixture(scope="module")
def sandboxes() -> Iterator[Sandboxes]:
    with running_sandboxes(contacts=30, seed=4) as running:
        yield running


def config(tmp_path: Path, sandboxes: Sandboxes, **replace: str) -> Path:
    text = sandbox_toml(
        sandboxes.connection(), serve_url=None, store_url=f"sqlite:///{tmp_path / 'store.db'}"
    )
    for old, new in replace.items():
        text = text.replace(old, new)
    path = tmp_path / "lawful-crm.toml"
    path.write_text(text, encoding="utf-8")
    return path


def doctor(path: Path) -> tuple[int, dict[str, tuple[str, str]]]:
    result = CliRunner().invoke(app, ["doctor", "--config", str(path)])
    checks = {}
    for line in result.output.splitlines():
        if found := re.match(r"\s*(ok|warn|FAIL)\s{2}(.+?)\s{2,}(.*)$", line):
            checks[found.group(2).strip()] = (found.group(1), found.group(3))
    return result.exit_code, checks


def test_a_fresh_sandbox_warns_of_the_missing_fields_and_store_and_changes_nothing(
    tmp_path: Path, sandboxes: Sandboxes
) -> None:
    code, checks = doctor(config(tmp_path, sandboxes))
    assert code == 0
    assert checks["salesforce connection"][0] == "ok" and checks["hubspot connection"][0] == "ok"
    # the group, six properties and the review list
    assert checks["hubspot own fields"] == ("warn", "8 missing: run lawful-crm install --crm hubspot")
    assert checks["store"][0] == "warn" and not (tmp_path / "store.db").exists(), "doctor creates no store"
    assert checks["webhook /webhooks/salesforce/<secret>"][1].startswith("on: ")
    assert checks["page /admin"][1].startswith("off: ")


def test_refused_credentials_fail_the_check_of_that_crm(tmp_path: Path, sandboxes: Sandboxes) -> None:
    code, checks = doctor(
        config(tmp_path, sandboxes, **{'access_token = "sandbox"': 'access_token = "wrong"'})
    )
    assert code == 1
    assert checks["hubspot connection"][0] == "FAIL" and "refused" in checks["hubspot connection"][1]
    assert checks["salesforce connection"][0] == "ok", "the other CRM is still checked"
