"""Outgoing webhooks: contact events batched (≤100 per POST), signed (v1 and v3) and retried on failure.

A background thread drains the event queue: it waits for the first event, collects more for ``batch_window``
seconds (up to 100), POSTs the JSON array to the target URL and, when the connection fails, the receiver
takes more than ``timeout`` seconds or answers anything but 2xx, retries the batch with ``attemptNumber`` + 1
after an exponential backoff, up to ``max_attempts`` in all. Off unless a target URL is given.
"""

from __future__ import annotations

import itertools
import json
import queue
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any

from crm_sandbox.hubspot.signature import sign_v1, sign_v3

SUBSCRIPTION_IDS = {"contact.creation": 22, "contact.propertyChange": 25, "contact.deletion": 23}
SUBSCRIPTION_IDS |= {"contact.privacyDeletion": 24, "contact.merge": 26, "contact.subscriptionChange": 27}
SUBSCRIPTION_CHANGE = "contact.subscriptionChange"
"""A contact's communication subscription status changed (its ``objectId`` is the contact)."""


@dataclass
class DeliveryLog:
    """What the sender did, for tests and benchmarks (no payloads: they hold personal data)."""

    delivered_batches: int = 0
    delivered_events: int = 0
    failed_attempts: int = 0
    dropped_batches: int = 0
    statuses: list[int] = field(default_factory=list)


class WebhookSender:
    """Queues contact events and delivers them from a daemon thread."""

    def __init__(
        self,
        url: str,
        *,
        client_secret: str,
        portal_id: int,
        app_id: int,
        batch_window: float = 0.05,
        timeout: float = 5.0,
        retry_delay: float = 0.5,
        max_attempts: int = 10,
    ) -> None:
        self.url = url
        self.client_secret = client_secret
        self.portal_id = portal_id
        self.app_id = app_id
        self.batch_window = batch_window
        self.timeout = timeout
        self.retry_delay = retry_delay
        self.max_attempts = max_attempts
        self.log = DeliveryLog()
        self._queue: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._event_ids = itertools.count(3_816_279_340)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="hubspot-sandbox-webhooks", daemon=True)
        self._idle = threading.Event()
        self._idle.set()

    def start(self) -> None:
        """Start the delivery thread."""
        self._thread.start()

    def stop(self) -> None:
        """Stop after the current attempt; undelivered events are dropped."""
        self._stop.set()
        self._queue.put(None)
        self._thread.join(timeout=self.timeout + 1)

    def idle(self) -> bool:
        """Whether every queued event was delivered or given up."""
        return self._queue.empty() and self._idle.is_set()

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Block until every queued event was delivered or given up; True when idle."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._queue.empty() and self._idle.is_set():
                return True
            time.sleep(0.01)
        return False

    def on_change(
        self, kind: str, object_id: str, changed: dict[str, str | None], source: str, source_id: str
    ) -> None:
        """Store listener: turn a record change into events (one per changed property)."""
        now = int(time.time() * 1000)
        base: dict[str, Any] = {
            "portalId": self.portal_id,
            "appId": self.app_id,
            "occurredAt": now,
            "attemptNumber": 0,
        }
        base |= {"objectId": int(object_id), "changeSource": source}
        if source_id:
            base["sourceId"] = source_id
        subscription = f"contact.{kind}"
        if kind == "propertyChange":
            for name, value in changed.items():
                self._put(
                    {**base, "subscriptionType": subscription, "propertyName": name, "propertyValue": value}
                )
        elif kind == "merge":
            merged = [int(i) for i in (changed.get("mergedObjectIds") or "").split(";") if i]
            extra = {"primaryObjectId": int(object_id), "mergedObjectIds": merged}
            extra |= {"newObjectId": int(object_id), "numberOfPropertiesMoved": 0}
            self._put({**base, "subscriptionType": subscription, **extra})
        else:
            extra = {"changeFlag": "NEW"} if kind == "creation" else {}
            self._put({**base, "subscriptionType": subscription, **extra})

    def on_subscription_change(self, contact_id: str, source: str, status: Any) -> None:
        """Subscription listener: one event per contact whose address's status was set."""
        event: dict[str, Any] = {
            "portalId": self.portal_id,
            "appId": self.app_id,
            "occurredAt": int(time.time() * 1000),
            "attemptNumber": 0,
            "subscriptionType": SUBSCRIPTION_CHANGE,
            "objectId": int(contact_id),
            "changeSource": source,
            "communicationSubscriptionId": int(status.subscription_id),
            "channel": "EMAIL",
            "status": status.status,
        }
        self._put(event)

    def _put(self, event: dict[str, Any]) -> None:
        event["eventId"] = next(self._event_ids)
        event["subscriptionId"] = SUBSCRIPTION_IDS.get(event["subscriptionType"], 21)
        self._idle.clear()
        self._queue.put(event)

    def _run(self) -> None:
        while not self._stop.is_set():
            first = self._queue.get()
            if first is None:
                break
            self._idle.clear()
            batch = [first]
            deadline = time.monotonic() + self.batch_window
            while len(batch) < 100:
                try:
                    item = self._queue.get(timeout=max(deadline - time.monotonic(), 0))
                except queue.Empty:
                    break
                if item is None:
                    self._stop.set()
                    break
                batch.append(item)
            self._deliver(batch)
            if self._queue.empty():
                self._idle.set()

    def _deliver(self, batch: list[dict[str, Any]]) -> None:
        for attempt in range(self.max_attempts):
            for event in batch:
                event["attemptNumber"] = attempt
            if self._post(batch):
                self.log.delivered_batches += 1
                self.log.delivered_events += len(batch)
                return
            self.log.failed_attempts += 1
            if self._stop.wait(self.retry_delay * (2**attempt)):
                return
        self.log.dropped_batches += 1

    def _post(self, batch: list[dict[str, Any]]) -> bool:
        body = json.dumps(batch, separators=(",", ":")).encode()
        stamp = str(int(time.time() * 1000))
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "HubSpot Connect 2.0 (http://dev.hubspot.com/) (sandbox)",
            "X-HubSpot-Signature-Version": "v1",
            "X-HubSpot-Signature": sign_v1(self.client_secret, body),
            "X-HubSpot-Signature-v3": sign_v3(self.client_secret, "POST", self.url, body, stamp),
            "X-HubSpot-Request-Timestamp": stamp,
        }
        request = urllib.request.Request(self.url, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                status = int(response.status)
        except urllib.error.HTTPError as exc:
            status = exc.code
        except (OSError, ValueError):
            status = 0
        self.log.statuses.append(status)
        return 200 <= status < 300
