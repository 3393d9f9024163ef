"""Files an admin names are checked before they are read: a device, a directory or an oversized file is refused
with a clear message and the usage exit status, never read into memory and never a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from connector.dnc.readers import ListFileError
from connector.dnc.registers import DncRegisters
from connector.errors import ConfigurationError
from connector.mapping.load import load_mapping
from connector.models import RegisterList
from connector.store import open_store
from tests.dnc_keys import TEST_KEY


def cli(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "connector.cli", *args], capture_output=True, text=True, cwd=cwd, check=False
    )


@pytest.mark.parametrize("path", [Path("/dev/zero"), Path("/")])
def test_a_mapping_file_that_is_no_regular_file_is_refused(path: Path) -> None:
    with pytest.raises(ConfigurationError, match="not a regular file"):
        load_mapping("salesforce", path)


def test_an_oversized_mapping_file_is_refused_before_it_is_read(tmp_path: Path) -> None:
    big = tmp_path / "mapping.yaml"
    big.write_bytes(b"#" * (2 * 1024 * 1024))
    with pytest.raises(ConfigurationError, match="larger than"):
        load_mapping("salesforce", big)


def test_a_configuration_file_that_is_a_device_is_a_configuration_error(tmp_path: Path) -> None:
    result = cli(tmp_path, "sync", "--dry-run", "--config", "/dev/zero")
    assert result.returncode == 2, result.stderr
    assert "not a regular file" in result.stdout + result.stderr and "Traceback" not in result.stderr


def test_a_mapping_file_that_is_a_device_fails_the_offline_check_cleanly(tmp_path: Path) -> None:
    config = tmp_path / "lawful-crm.toml"
    config.write_text('[hubspot]\naccess_token = "pat-x"\nmapping_file = "/dev/zero"\n', encoding="utf-8")
    result = cli(tmp_path, "mappings", "check", "--offline", "--config", str(config))
    assert result.returncode == 2, result.stderr
    assert "not a regular file" in result.stdout + result.stderr and "Traceback" not in result.stderr


def test_a_register_file_that_is_a_device_is_refused(tmp_path: Path) -> None:
    registers = DncRegisters(open_store(f"sqlite:///{tmp_path / 'store.db'}"), key=TEST_KEY)
    with pytest.raises(ListFileError, match="not a regular file"):
        registers.import_list(RegisterList.UK_TPS, Path("/dev/zero"))
