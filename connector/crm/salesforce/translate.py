"""simple-salesforce and requests exceptions -> connector.errors, by HTTP status and Salesforce errorCode.

Never by message text, and never with it: Salesforce messages and response bodies can hold personal data
(an e-mail address in a validation message, a name in a duplicate-rule message), so a translated error says
what was being done, the status, the errorCode and, for field errors, the field names.
"""

from __future__ import annotations

from typing import Any

import requests
from simple_salesforce.exceptions import (
    SalesforceAuthenticationFailed,
    SalesforceError,
    SalesforceOperationError,
)

from connector.errors import (
    AuthenticationError,
    ConfigurationError,
    ConnectorError,
    CrmContractError,
    QuotaExhaustedError,
    RateLimitedError,
    RecordGoneError,
    ServiceUnavailableError,
)

__all__ = ["FIELD_ERRORS", "GONE_ERRORS", "error_code", "error_fields", "translate"]

FIELD_ERRORS = frozenset({"INVALID_FIELD", "INVALID_FIELD_FOR_INSERT_UPDATE", "NO_SUCH_COLUMN"})
"""A field the integration user cannot see or write: missing, or without field-level security."""
GONE_ERRORS = frozenset(
    {
        "ENTITY_IS_DELETED", "INVALID_CROSS_REFERENCE_KEY", "CANNOT_UPDATE_CONVERTED_LEAD", "NOT_FOUND",
        "ENTITY_IS_ARCHIVED", "INVALID_ID_FIELD", "ENTITY_IS_LOCKED_FOR_MERGE",
    }
)  # fmt: skip
"""The record was deleted, merged away or converted since it was read."""
_TRANSIENT = frozenset({"UNABLE_TO_LOCK_ROW", "INVALID_QUERY_LOCATOR", "SERVER_UNAVAILABLE"})
_PERMISSION = frozenset({"INSUFFICIENT_ACCESS", "API_DISABLED_FOR_ORG", "API_CURRENTLY_DISABLED"})


def _first_error(content: Any) -> dict[str, Any]:
    if isinstance(content, list) and content and isinstance(content[0], dict):
        return content[0]
    if isinstance(content, dict):
        return content
    return {}


def error_code(exc: SalesforceError) -> str | None:
    """The `errorCode` of the first error in the response body, if the body had one."""
    code = _first_error(exc.content).get("errorCode")
    return str(code) if code else None


def error_fields(exc: SalesforceError) -> tuple[str, ...]:
    """The field names the first error names (`fields`), if any."""
    fields = _first_error(exc.content).get("fields")
    return tuple(str(name) for name in fields) if isinstance(fields, list) else ()


def translate(exc: Exception, *, action: str, retry_after: float | None = None) -> ConnectorError:
    """The connector error for a vendor or transport exception raised while doing `action`."""
    if isinstance(exc, ConnectorError):
        return exc
    if isinstance(exc, SalesforceAuthenticationFailed):
        if isinstance(exc.code, int) and (
            exc.code >= 500 or exc.code == 429
        ):  # a token endpoint not answering
            return ServiceUnavailableError(
                f"Salesforce {action}: the token endpoint answered HTTP {exc.code}"
            )
        return AuthenticationError(f"Salesforce refused the login ({exc.code})")
    if isinstance(exc, SalesforceError):
        return _by_status(exc, action=action, retry_after=retry_after)
    if isinstance(exc, SalesforceOperationError):
        return CrmContractError(f"Salesforce {action}: the Bulk API 2.0 job did not complete")
    if isinstance(exc, requests.RequestException):
        return ServiceUnavailableError(f"Salesforce {action}: {type(exc).__name__}")
    return CrmContractError(f"Salesforce {action}: unexpected {type(exc).__name__}")


def _by_status(exc: SalesforceError, *, action: str, retry_after: float | None) -> ConnectorError:
    status, code = exc.status, error_code(exc)
    said = f"Salesforce {action}: HTTP {status}{f' {code}' if code else ''}"
    if status == 429:
        return RateLimitedError(said, retry_after=retry_after)
    if status == 401:
        return AuthenticationError(f"{said}: the session was refused")
    if code == "REQUEST_LIMIT_EXCEEDED":
        return QuotaExhaustedError(f"{said}: the org's API request limit is reached")
    if status >= 500 or code in _TRANSIENT:
        return ServiceUnavailableError(said)
    if code in FIELD_ERRORS:
        fields = error_fields(exc)
        named = f" ({', '.join(fields)})" if fields else ""
        return ConfigurationError(
            f"{said}{named}: a field is missing or the integration user lacks field-level security; "
            "run `lawful-crm install` or fix the mapping",
            problems=fields,
        )
    if status == 403 or code in _PERMISSION:
        return ConfigurationError(f"{said}: the integration user lacks a permission")
    if code in GONE_ERRORS and code != "NOT_FOUND":
        return RecordGoneError(said, record_id="", code=code)
    return CrmContractError(said)
