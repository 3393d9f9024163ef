"""Salesforce's faults: the shared vocabulary (`crm_sandbox.faults`) plus the code and message of record errors.

A record that fails a write fails with `record_error_code` (default `UNABLE_TO_LOCK_ROW`; an org's validation
rule is `FIELD_CUSTOM_VALIDATION_EXCEPTION`) and `record_error_message`; a record held by `locked_ids` always
fails with `UNABLE_TO_LOCK_ROW`. An injected HTTP error is answered with Salesforce's body for its status.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from crm_sandbox.faults import Faults, setting

LOCKED = "UNABLE_TO_LOCK_ROW"
_ERROR_BODIES = {
    429: ("REQUEST_LIMIT_EXCEEDED", "ConcurrentPerOrgLongTxn Limit exceeded."),
    500: (
        "UNKNOWN_EXCEPTION",
        "An unexpected error occurred. Please include this ErrorId if you contact support",
    ),
    503: ("SERVER_UNAVAILABLE", "Server temporarily unavailable, please retry your request."),
}


def _code(value: Any) -> str | None:
    return None if isinstance(value, str) and value.isupper() else "a statusCode such as UNABLE_TO_LOCK_ROW"


def _message(value: Any) -> str | None:
    return None if value is None or isinstance(value, str) else "a message template or null"


@dataclass
class SalesforceFaults(Faults):
    """The shared faults, and what a failed record says."""

    record_error_code: str = setting(LOCKED, _code)
    record_error_message: str | None = setting(None, _message)
    """The message of injected record errors, formatted with the record (`"Blocked: {Email}"`), as an admin's
    validation rule may quote field values; None for the standard message of the code."""

    def record_error(self, record_id: str | None = None) -> str | None:
        """The statusCode to fail one record of a write with, or None (a held lock first, then the rate)."""
        if self.record_locked(record_id):
            return LOCKED
        return self.record_error_code if self.roll(self.record_error_rate) else None


def error_body(status: int) -> tuple[str, str]:
    """(errorCode, message) of an injected HTTP error."""
    return _ERROR_BODIES.get(status, ("UNKNOWN_EXCEPTION", "An unexpected error occurred."))
