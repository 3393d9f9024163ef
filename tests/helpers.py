"""Test helpers shared across the suites: settable clocks, retries without waits, the sandbox as a process.

Loaded as a pytest plugin by `tests/conftest.py`, so its fixtures need no import; its classes and context
managers are imported by name.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pytest

from connector.crm.retry import set_testing

if TYPE_CHECKING:
    from connector.crm.hubspot.limiter import Clock

__all__ = ["SettableClock", "SleeplessTime", "no_retry_waits", "sandbox_process"]


class SettableClock:
    """A wall clock that stands still until a test moves it (``clock.now += timedelta(...)``)."""

    def __init__(self, now: datetime = datetime(2026, 1, 1, tzinfo=UTC)) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class SleeplessTime:
    """A monotonic clock that moves only when the code under test sleeps: rate-limit waits cost no real time."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept = 0.0

    def sleep(self, seconds: float) -> None:
        self.now += seconds
        self.slept += seconds

    def clock(self) -> Clock:
        from connector.crm.hubspot.limiter import Clock  # the HubSpot SDK loads only for the tests using it

        return Clock(monotonic=lambda: self.now, sleep=self.sleep)


@pytest.fixture
def no_retry_waits() -> Iterator[None]:
    """Retries of the one retry policy happen at once for the test's duration (`pytestmark` it in)."""
    set_testing(enabled=True)
    yield
    set_testing(enabled=False)


@contextmanager
def sandbox_process(
    *, contacts: int, seed: int | None = None, search_lag: float | None = None
) -> Iterator[dict[str, Any]]:
    """`lawful-crm sandbox` as an admin starts it, in its own process: yields the settings it prints (both
    emulators' URLs and tokens) and stops it with SIGTERM. ``search_lag``: its ``--search-lag``."""
    command = [sys.executable, "-m", "connector.cli", "sandbox", "--contacts", str(contacts), "--json"]
    if seed is not None:
        command += ["--seed", str(seed)]
    if search_lag is not None:
        command += ["--search-lag", str(search_lag)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    try:
        yield json.loads(process.stdout.readline())
    finally:
        process.terminate()
        process.wait(timeout=30)
        process.stdout.close()
