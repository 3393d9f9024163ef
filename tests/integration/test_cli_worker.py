"""``lawful-crm worker`` needs a PostgreSQL store: on SQLite it says so and exits 2 (serve runs the worker)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.dnc_keys import TEST_KEY_HEX

LAWFUL_CRM = str(Path(sys.executable).with_name("lawful-crm"))


def test_a_worker_on_an_sqlite_store_is_refused_with_the_way_out(tmp_path: Path) -> None:
    config = tmp_path / "lawful-crm.toml"
    config.write_text(
        '[hubspot]\nbase_url = "http://127.0.0.1:9"\naccess_token = "pat-test"\n\n'
        f'[store]\nurl = "sqlite:///{tmp_path / "store.db"}"\n',
        encoding="utf-8",
    )
    env = {**os.environ, "LAWFUL_CRM_DNC_KEY": TEST_KEY_HEX}
    done = subprocess.run(
        [LAWFUL_CRM, "worker", "--config", str(config)],
        capture_output=True, text=True, timeout=60, env=env, check=False,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert "workers need a PostgreSQL store" in done.stderr
    assert "serve runs the worker" in done.stderr
    assert not (tmp_path / "store.db").exists(), "refused before the store was created"
