"""The connector's errors, typed by what the caller should do.

::

    ConnectorError
    ├── RetriableError            try again later, through crm/retry.py
    │   ├── RateLimitedError      429 / rate-limit body; carries retry_after when the CRM said
    │   ├── ServiceUnavailableError  5xx, timeouts, dropped connections
    │   ├── RecordLockedError     UNABLE_TO_LOCK_ROW and the like: retry that record
    │   └── StoreUnavailable      the store's database failed or is out of reach: answer "later" (a webhook 503)
    ├── RunStoppedError           end the run cleanly; the next run resumes from the checkpoint
    │   ├── QuotaExhaustedError   the daily API budget (minus the reserve for other integrations) is spent
    │   └── SyncAlreadyRunning    another sync of the CRM holds its store lease: this one does not start
    ├── FatalError                abort: a person must fix something first
    │   ├── AuthenticationError   credentials refused or expired beyond refresh
    │   ├── ConfigurationError    settings, mapping file, missing field or missing field permission
    │   └── CrmContractError      the CRM answered in a shape we do not understand
    └── RecordError               skip this record, report it, go on with the others
        ├── RecordGoneError       deleted, merged or converted since it was read
        └── RecordRejectedError   the CRM refused the write for this record (validation rule, …)

Messages carry ids, field names, status and vendor error codes — never response bodies or personal data.
"""

from __future__ import annotations

__all__ = [
    "AuthenticationError",
    "ConfigurationError",
    "ConnectorError",
    "CrmContractError",
    "FatalError",
    "QuotaExhaustedError",
    "RateLimitedError",
    "RecordError",
    "RecordGoneError",
    "RecordLockedError",
    "RecordRejectedError",
    "RetriableError",
    "RunStoppedError",
    "ServiceUnavailableError",
    "StoreUnavailable",
    "SyncAlreadyRunning",
]


class ConnectorError(Exception):
    """Root of every error the connector raises on purpose."""


class RetriableError(ConnectorError):
    """A transient failure: the same call may succeed later."""


class RateLimitedError(RetriableError):
    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ServiceUnavailableError(RetriableError):
    pass


class RecordLockedError(RetriableError):
    def __init__(self, message: str, *, record_id: str) -> None:
        super().__init__(message)
        self.record_id = record_id


class StoreUnavailable(RetriableError):
    """The store could not be read or written (locked, full, gone, server unreachable). Its message names the
    database error's type only: a driver's text may quote the values of a statement."""


class RunStoppedError(ConnectorError):
    """Stop the run cleanly after checkpointing; nothing is wrong with the data."""


class QuotaExhaustedError(RunStoppedError):
    pass


class SyncAlreadyRunning(RunStoppedError):
    """Another sync of this CRM, in this process or another sharing the store, holds the CRM's lease."""


class FatalError(ConnectorError):
    """A person must act before the run can go on."""


class AuthenticationError(FatalError):
    pass


class ConfigurationError(FatalError):
    def __init__(self, message: str, *, problems: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.problems = problems


class CrmContractError(FatalError):
    pass


class RecordError(ConnectorError):
    """One record failed; report it and carry on with the others."""

    def __init__(self, message: str, *, record_id: str, code: str | None = None) -> None:
        super().__init__(message)
        self.record_id = record_id
        self.code = code


class RecordGoneError(RecordError):
    pass


class RecordRejectedError(RecordError):
    pass
