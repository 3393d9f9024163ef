"""``lawful-crm init``: a configuration that loads as written, whose mappings are the copies beside it."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from connector.cli import app
from connector.mapping.load import DEFAULT_MAPPINGS, load_mapping
from connector.settings import load_settings


def test_init_writes_a_configuration_that_loads_and_points_at_its_own_mappings(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["init", str(tmp_path)])
    assert result.exit_code == 0, result.output
    settings = load_settings(tmp_path / "lawful-crm.toml")
    assert settings.salesforce is not None and settings.hubspot is not None
    for crm, table in (("salesforce", settings.salesforce), ("hubspot", settings.hubspot)):
        copy = tmp_path / "mappings" / f"{crm}.yaml"
        assert table.mapping_file == copy.resolve()
        assert copy.read_text(encoding="utf-8") == (DEFAULT_MAPPINGS / f"{crm}.yaml").read_text(
            encoding="utf-8"
        )
        assert load_mapping(crm, copy).crm == crm
    assert "# " in (tmp_path / "lawful-crm.toml").read_text(encoding="utf-8"), "the comments come along"


def test_init_overwrites_nothing_unless_forced(tmp_path: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["init", str(tmp_path)]).exit_code == 0
    edited = tmp_path / "mappings" / "hubspot.yaml"
    edited.write_text("# my edits\n", encoding="utf-8")
    again = runner.invoke(app, ["init", str(tmp_path)])
    assert again.exit_code == 2 and edited.read_text(encoding="utf-8") == "# my edits\n"
    assert runner.invoke(app, ["init", str(tmp_path), "--force"]).exit_code == 0
    assert edited.read_text(encoding="utf-8") != "# my edits\n"
