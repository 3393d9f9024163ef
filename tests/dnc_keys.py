"""The do-not-call hash key of tests that build ``DncRegisters`` themselves (as ``LAWFUL_CRM_DNC_KEY`` would)."""

from __future__ import annotations

from pathlib import Path

from connector.dnc.keys import KeySource

TEST_KEY_HEX = "5e" * 32
TEST_KEY = KeySource(file=Path("never-written.dnc-key"), value=TEST_KEY_HEX)
