"""``sync --crm all`` runs each CRM and reports each: a CRM whose login is refused does not keep the other from
being synced, and the exit status is the most severe of the two; the failure is announced to [alerts]."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from connector.cli import app
from connector.store import open_store
from crm_sandbox.config import sandbox_toml
from crm_sandbox.launch import running_sandboxes
from tests.integration.test_alerts import receiver


def test_a_refused_salesforce_login_leaves_hubspot_synced_and_reported(tmp_path: Path) -> None:
    store_url = f"sqlite:///{tmp_path / 'store.db'}"
    with running_sandboxes(contacts=40, seed=5) as sandboxes, receiver() as (alerts_url, alerts):
        text = sandbox_toml(sandboxes.connection(), serve_url=None, store_url=store_url)
        text += f'\n[alerts]\nwebhook_url = "{alerts_url}"\n'
        config = tmp_path / "lawful-crm.toml"
        config.write_text(text.replace('session_id = "sandbox"', 'session_id = "refused"'), encoding="utf-8")
        runner = CliRunner()
        assert runner.invoke(app, ["install", "--crm", "hubspot", "--config", str(config)]).exit_code == 0
        result = runner.invoke(app, ["sync", "--crm", "all", "--config", str(config)])
    assert result.exit_code == 5, result.output
    assert "salesforce: the run failed: AuthenticationError" in result.output
    assert "hubspot: full sync" in result.output, "the HubSpot run's summary follows"
    [alert] = alerts
    assert "the salesforce sync (run 1) failed" in alert["text"], (
        "the failed run is announced, the good one not"
    )
    store = open_store(store_url)
    try:
        [run] = store.runs.recent("hubspot")
        assert run.outcome == "completed" and run.counts["written"] == 40
    finally:
        store.close()
