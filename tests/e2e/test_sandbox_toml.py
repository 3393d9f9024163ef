"""``lawful-crm sandbox --toml`` prints a configuration that works as printed: install and sync both sandboxes."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

from connector.settings import load_settings
from crm_sandbox.config import SANDBOX_PATH_SECRET
from tests.integration.test_webhook_serve import LAWFUL_CRM


def test_the_printed_configuration_installs_and_syncs_both_sandboxes(tmp_path: Path) -> None:
    sandbox = subprocess.Popen(
        [LAWFUL_CRM, "sandbox", "--toml", "--contacts", "40", "--serve-url", "http://127.0.0.1:8099"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    assert sandbox.stdout is not None
    try:
        lines = []
        while not lines or "Ctrl-C stops" not in lines[-1]:
            line = sandbox.stdout.readline()
            assert line, f"the sandbox ended early: {lines}"
            lines.append(line)
        config = tmp_path / "lawful-crm.toml"
        config.write_text("".join(lines), encoding="utf-8")
        settings = load_settings(config)
        assert settings.webhooks.salesforce_path_secret is not None
        assert settings.webhooks.salesforce_path_secret.get_secret_value() == SANDBOX_PATH_SECRET
        assert settings.hubspot is not None and settings.hubspot.client_secret is not None
        for command in (["install", "--crm", "all"], ["sync", "--crm", "all"]):
            done = subprocess.run(
                [LAWFUL_CRM, *command, "--config", str(config)], capture_output=True, text=True, timeout=300
            )
            assert done.returncode == 0, done.stdout + done.stderr
        assert "salesforce" in done.stdout and "hubspot" in done.stdout
    finally:
        sandbox.send_signal(signal.SIGTERM)
        sandbox.wait(30)
        sandbox.stdout.close()
