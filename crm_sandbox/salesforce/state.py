"""Everything one emulated org holds besides its records: tokens, quota, query cursors, counters, log.

`SalesforceState` is what tests and benchmarks reach through `sandbox.state`: the records (`store`), the
faults, the call counters and the request log, and helpers to read a record directly, bypassing the API.
`clock` is the org's time (`clock.advance(days=16)` lets the recycle bin empty); `rules` the org's
validation rules, duplicate rules and triggers. Query locators expire after 15 minutes unused, and a user
holds at most 10: opening another releases the oldest, as Salesforce does.
"""

from __future__ import annotations

import secrets
import threading
from array import array
from collections import Counter, OrderedDict, deque
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from crm_sandbox.clock import SandboxClock
from crm_sandbox.salesforce.faults import SalesforceFaults
from crm_sandbox.salesforce.ids import make_id
from crm_sandbox.salesforce.query import Executor, format_value
from crm_sandbox.salesforce.rules import OrgRules
from crm_sandbox.salesforce.soql import Query
from crm_sandbox.salesforce.store import Store

ORG_ID = make_id("00D", 1)
DEFAULT_TOKEN = "sandbox"
MAX_CURSORS = 10
CURSOR_IDLE = timedelta(minutes=15)
OLDEST_VERSION, NEWEST_VERSION = (31, 0), (64, 0)
"""The REST API versions the org answers: 21.0–30.0 are retired (410), later ones do not exist yet (404)."""


class ApiError(Exception):
    """An error answered as Salesforce's JSON list body: `[{"message", "errorCode", "fields"}]`."""

    def __init__(self, status: int, code: str, message: str, fields: list[str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.fields = status, code, message, fields

    def body(self) -> list[dict[str, Any]]:
        """The response body."""
        item: dict[str, Any] = {"message": self.message, "errorCode": self.code}
        if self.fields is not None:
            item["fields"] = self.fields
        return [item]


@dataclass(slots=True)
class Cursor:
    """A query locator: the matched indexes of one query, paged by `nextRecordsUrl`."""

    query: Query
    indexes: array[int]
    include_deleted: bool
    used: datetime


class SalesforceState:
    """The mutable state of one emulated org (see module docstring)."""

    def __init__(
        self,
        *,
        contacts: int = 1000,
        leads: int | None = None,
        seed: int = 1,
        token: str = DEFAULT_TOKEN,
        daily_limit: int = 15000,
        faults: SalesforceFaults | None = None,
        client_id: str = "sandbox-client-id",
        client_secret: str = "sandbox-client-secret",
        refresh_token: str = "sandbox-refresh-token",
        api_version: str = "59.0",
        jwt_certificate: str | None = None,
        clock: SandboxClock | None = None,
    ) -> None:
        leads = contacts * 3 // 10 if leads is None else leads
        self.clock = clock or SandboxClock()
        self.store = Store(
            seed=seed,
            contacts=contacts,
            leads=leads,
            clock=lambda: self.clock.now().replace(microsecond=0),
        )
        self.rules = OrgRules()
        self.executor = Executor(self.store, api_version)
        self.faults = faults or SalesforceFaults(seed=seed)
        self.token, self.client_id, self.client_secret = token, client_id, client_secret
        self.refresh_tokens = {refresh_token}
        self.jwt_certificate = jwt_certificate
        """The connected app's certificate (PEM): when set, JWT assertions must carry its key's signature."""
        self.instance_url = "http://127.0.0.1"
        self.daily_limit, self.api_used = daily_limit, 0
        self.counters: Counter[str] = Counter()
        self.request_log: deque[dict[str, Any]] = deque(maxlen=10000)
        self.cursors: OrderedDict[str, Cursor] = OrderedDict()
        self.jobs: dict[str, dict[str, Any]] = {}
        self.list_views: dict[str, dict[str, Any]] = {}
        """ListView id -> its List Info details (filters, columns, visibility); see `list_views`."""
        self._tokens = {token}
        self._lock = threading.Lock()
        self._cursor_seq = 0

    # -- auth ----------------------------------------------------------------------------------------------
    def issue_token(self) -> str:
        """A fresh access token, valid until `expire_tokens`."""
        token = f"{ORG_ID[:15]}!{secrets.token_urlsafe(24)}"
        with self._lock:
            self._tokens.add(token)
        return token

    def token_valid(self, token: str) -> bool:
        """Whether a bearer token is accepted now (none is while the `token_expired` fault is on)."""
        with self._lock:
            return token in self._tokens and not self.faults.token_expired

    def expire_tokens(self) -> None:
        """Invalidate every token issued so far, including the static one (a session timeout)."""
        with self._lock:
            self._tokens.clear()

    def add_token(self, token: str) -> None:
        """Accept another static bearer token (e.g. to restore the default after `expire_tokens`)."""
        with self._lock:
            self._tokens.add(token)

    # -- quota ---------------------------------------------------------------------------------------------
    def spend_request(self) -> bool:
        """Count one API request against the daily quota; False when the quota is already spent."""
        with self._lock:
            if self.api_used >= self.daily_limit:
                return False
            self.api_used += 1
            return True

    def limit_info(self) -> str:
        """The `Sforce-Limit-Info` header value."""
        return f"api-usage={self.api_used}/{self.daily_limit}"

    # -- query cursors -------------------------------------------------------------------------------------
    def open_cursor(self, query: Query, indexes: array[int], *, include_deleted: bool) -> str:
        """Keep a query's result for paging and return its locator (releasing the oldest beyond 10)."""
        with self._lock:
            self._cursor_seq += 1
            locator = make_id("01g", self._cursor_seq)
            self.cursors[locator] = Cursor(query, indexes, include_deleted, self.clock.now())
            while len(self.cursors) > MAX_CURSORS:
                self.cursors.popitem(last=False)
        return locator

    def use_cursor(self, locator: str) -> Cursor | None:
        """The open cursor of a locator, marked as used now; None when unknown, released or expired."""
        now = self.clock.now()
        with self._lock:
            cursor = self.cursors.get(locator)
            if cursor is None:
                return None
            if now - cursor.used > CURSOR_IDLE:
                del self.cursors[locator]
                return None
            cursor.used = now
            self.cursors.move_to_end(locator)
            return cursor

    def housekeeping(self) -> None:
        """What the org does in the background, run before each request: empty the recycle bin."""
        self.store.empty_recycle_bin()

    @staticmethod
    def version_status(version: str) -> int:
        """200 for a supported REST API version, 410 for a retired one, 404 for one that does not exist."""
        major, _, minor = version.partition(".")
        wanted = (int(major), int(minor or 0))
        if wanted < OLDEST_VERSION:
            return 410
        return 404 if wanted > NEWEST_VERSION else 200

    # -- direct access for tests ---------------------------------------------------------------------------
    def record(self, sobject: str, record_id: str, *, include_deleted: bool = True) -> dict[str, Any] | None:
        """The stored record with every field (hidden ones too), as Python values; bypasses the API."""
        located = self.store.locate(record_id)
        if located is None or located[0].name.lower() != sobject.lower():
            return None
        return self.store.get(located[0].name, located[1], include_deleted=include_deleted)

    def record_json(self, sobject: str, record_id: str) -> dict[str, Any] | None:
        """`record` with values formatted as the REST API formats them."""
        record = self.record(sobject, record_id)
        return None if record is None else {key: format_value(value) for key, value in record.items()}

    def reset_counters(self) -> None:
        """Forget call counters and the request log (not the quota)."""
        self.counters.clear()
        self.request_log.clear()
