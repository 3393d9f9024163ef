"""Everything one emulated HubSpot account holds: records, properties, limits, faults, webhooks, counters.

``search_lag_s`` is how long search takes to see a write (HubSpot's search is eventually consistent: "a few
moments"); 0 makes every write searchable at once.

``HubSpotState`` is what tests and benchmarks reach through ``running_hubspot(...).state``: ``record(id)``
reads a stored contact without the API, ``calls`` counts requests per endpoint, ``requests`` is the request
log (endpoint templates, never raw paths or bodies: they can hold e-mail addresses). ``oauth`` issues the
app's expiring OAuth access tokens; ``expire_tokens()`` ends them all at once.
"""

from __future__ import annotations

import threading
import time
from collections import Counter, deque
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from crm_sandbox.clock import SandboxClock
from crm_sandbox.faults import Faults
from crm_sandbox.hubspot.limits import RateLimits
from crm_sandbox.hubspot.lists import ListBook
from crm_sandbox.hubspot.oauth import OAuthIssuer
from crm_sandbox.hubspot.properties import PropertyRegistry
from crm_sandbox.hubspot.store import ContactStore
from crm_sandbox.hubspot.subscriptions import Subscriptions
from crm_sandbox.hubspot.webhooks import WebhookSender


@dataclass(frozen=True, slots=True)
class LoggedRequest:
    """One request as the log keeps it."""

    at: float
    method: str
    endpoint: str
    status: int
    millis: float


class HubSpotState:
    """One sandbox account. Construct it, then serve it with ``create_app`` (or ``running_hubspot``)."""

    def __init__(
        self,
        *,
        contacts: int = 5000,
        seed: int = 1,
        token: str = "sandbox",
        portal_id: int = 9_001_234,
        app_id: int = 1_160_452,
        webhook_secret: str = "sandbox-client-secret",
        webhook_url: str | None = None,
        per_ten_seconds: int | None = 190,
        daily: int | None = 1_000_000,
        search_per_second: int | None = 5,
        faults: Faults | None = None,
        webhook_retry_delay: float = 0.5,
        client_id: str = "sandbox-client-id",
        refresh_token: str = "sandbox-refresh-token",
        oauth_token_lifetime: float = 1800.0,
        search_lag_s: float = 0.0,
        clock: SandboxClock | None = None,
    ) -> None:
        self.token = token
        self.portal_id = portal_id
        self.app_id = app_id
        self.webhook_secret = webhook_secret
        self.clock = clock or SandboxClock()
        """The sandbox's time: ``clock.advance(days=91)`` lets archived contacts reach their purge."""
        self.registry = PropertyRegistry()
        self.store = ContactStore(seed, contacts, self.registry, clock=self.clock, search_lag_s=search_lag_s)
        self.subscriptions = Subscriptions(self.store)
        """Subscription types and statuses (communication preferences)."""
        self.lists = ListBook()
        """Lists (v3), e.g. the review queue ``lawful-crm install`` creates."""
        self.limits = RateLimits(
            per_ten_seconds=per_ten_seconds, daily=daily, search_per_second=search_per_second
        )
        self.faults = faults or Faults(seed=seed)
        self.oauth = OAuthIssuer(
            client_id=client_id,
            client_secret=webhook_secret,
            refresh_token=refresh_token,
            lifetime_s=oauth_token_lifetime,
        )
        self.calls: Counter[str] = Counter()
        self.requests: deque[LoggedRequest] = deque(maxlen=10_000)
        self._log_lock = threading.Lock()
        self.webhooks: WebhookSender | None = None
        if webhook_url:
            self.webhooks = WebhookSender(
                webhook_url,
                client_secret=webhook_secret,
                portal_id=portal_id,
                app_id=app_id,
                retry_delay=webhook_retry_delay,
            )
            self.store.listeners.append(self.webhooks.on_change)
            self.subscriptions.listeners.append(self.webhooks.on_subscription_change)

    @property
    def search_lag_s(self) -> float:
        """The longest a write waits before search sees it (0: at once)."""
        return self.store.search_lag.total_seconds()

    @search_lag_s.setter
    def search_lag_s(self, seconds: float) -> None:
        """Set the search lag from now on (``lawful-crm sandbox --search-lag``); writes made before keep theirs."""
        if seconds < 0:
            raise ValueError("the search lag cannot be negative")
        self.store.search_lag = timedelta(seconds=seconds)

    def log_request(self, method: str, endpoint: str, status: int, started: float) -> None:
        """Count and log one API request."""
        entry = LoggedRequest(time.time(), method, endpoint, status, (time.perf_counter() - started) * 1000)
        with self._log_lock:
            self.calls[f"{method} {endpoint}"] += 1
            self.requests.append(entry)

    def record(self, contact_id: str) -> dict[str, Any] | None:
        """The stored contact (current values and what was written), bypassing API, auth and limits."""
        index = self.store.index_of(contact_id)
        return None if index is None else self.store.snapshot(index)

    def ui_update(
        self, contact_id: str, values: dict[str, Any], user_id: int = 45678
    ) -> dict[str, str | None]:
        """Change a contact as a user in the HubSpot UI would (changeSource CRM_UI); return the changes."""
        index = self.store.index_of(contact_id)
        if index is None:
            raise KeyError(contact_id)
        clean = self.registry.normalise_values("contacts", values)
        return self.store.update(index, clean, "CRM_UI", f"userId:{user_id}")

    def token_status(self, token: str) -> str | None:
        """``valid`` for the private-app token or a live OAuth token, ``expired``, or None when unknown."""
        if token == self.token:
            return "valid"
        return self.oauth.status(token)

    def expire_tokens(self) -> None:
        """Expire every OAuth access token issued so far, as 30 minutes passing would."""
        self.oauth.expire_all()

    def integration_source_id(self) -> str:
        """The ``sourceId`` webhooks carry for changes made through this app's token."""
        return str(self.app_id)

    def stats(self) -> dict[str, Any]:
        """Counters for tests, benchmarks and the admin endpoint."""
        hooks = self.webhooks.log if self.webhooks else None
        return {
            "calls": dict(self.calls),
            "contacts": self.store.total,
            "written_contacts": len(self.store.overlay) + len(self.store.created),
            "companies": len(self.store.companies()),
            "webhooks": None
            if hooks is None
            else {
                "delivered_batches": hooks.delivered_batches,
                "delivered_events": hooks.delivered_events,
                "failed_attempts": hooks.failed_attempts,
                "dropped_batches": hooks.dropped_batches,
                "idle": self.webhooks.idle() if self.webhooks else True,
            },
        }
