"""The sandbox clock: real time plus an offset that tests and admins move forward.

Retention rules that take days in a real CRM (HubSpot purges archived contacts after 90 days, Salesforce
empties the recycle bin after about 15 and keeps ``getDeleted`` for 30, query locators expire after 15
minutes idle, search catches up after a few seconds) all read this clock, so a test can let three months
pass in one call: ``state.clock.advance(days=91)``. Time only ever moves forward.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta


class SandboxClock:
    """Now, as the emulated CRM sees it: the machine's UTC time moved forward by ``offset``."""

    def __init__(self) -> None:
        self._offset = timedelta(0)
        self._lock = threading.Lock()

    @property
    def offset(self) -> timedelta:
        """How far the sandbox runs ahead of the machine."""
        return self._offset

    def now(self) -> datetime:
        """The sandbox's current time (timezone-aware UTC)."""
        return datetime.now(UTC) + self._offset

    def advance(
        self, *, days: float = 0, hours: float = 0, minutes: float = 0, seconds: float = 0
    ) -> datetime:
        """Move the clock forward (never back) and return the new now."""
        step = timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)
        if step < timedelta(0):
            raise ValueError("the sandbox clock only moves forward")
        with self._lock:
            self._offset += step
        return self.now()
