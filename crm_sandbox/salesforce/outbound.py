"""Outbound Messages: on a Contact or Lead change, POST the SOAP notification to a webhook until it is acked.

The org also has an Outbound Message on ContactPointTypeConsent (a record-triggered flow on "created or
updated", as the README asks admins to configure): a new or edited consent row is notified with its `PartyId`,
in messages of their own (one action per object, as Salesforce sends them).

Off unless a URL is given. A daemon thread batches up to 100 notifications per message, as Salesforce does,
and retries with exponential back-off (capped) until the receiver answers 200 with `<Ack>true</Ack>`. Delivery
is at least once and carries the record's latest values. Nothing about the records is logged.
"""

from __future__ import annotations

import queue
import threading
from typing import Any
from xml.sax.saxutils import escape

import requests

from crm_sandbox.salesforce.ids import make_id
from crm_sandbox.salesforce.query import format_value
from crm_sandbox.salesforce.state import ORG_ID, SalesforceState

NOTIFIED_FIELDS = (
    "Id", "Email", "Phone", "LeadSource", "HasOptedOutOfEmail", "DoNotCall", "SystemModstamp", "LastModifiedById",
)  # fmt: skip
"""The fields the admin's Outbound Message sends; the README asks for ``LastModifiedById`` (echo detection)."""
CONSENT_FIELDS = (
    "Id", "PartyId", "ContactPointType", "PrivacyConsentStatus", "DataUsePurposeId", "SystemModstamp",
    "LastModifiedById",
)  # fmt: skip
"""The fields of the Outbound Message on ContactPointTypeConsent: ``PartyId`` names the Individual."""
_CONSENT = "ContactPointTypeConsent"
_BATCH = 100


class OutboundMessenger:
    """Sends notifications for changed Contacts and Leads to `url`; `start()` registers it with the store."""

    def __init__(self, state: SalesforceState, url: str, *, max_backoff: float = 30.0) -> None:
        self.state, self.url, self.max_backoff = state, url, max_backoff
        self.pending: queue.Queue[tuple[str, dict[str, Any]]] = queue.Queue()
        self.delivered = 0
        self.attempts = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="salesforce-outbound", daemon=True)
        self._sequence = 0

    def start(self) -> OutboundMessenger:
        """Listen to record changes and start the sender thread."""
        self.state.store.listeners.append(self._changed)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop sending (undelivered notifications are dropped)."""
        self._stop.set()
        self._thread.join(timeout=5)

    def _changed(self, sobject: str, record: dict[str, Any], change: str) -> None:
        if (sobject in ("Contact", "Lead") and change == "updated") or sobject == _CONSENT:
            self.pending.put((sobject, record))

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                first = self.pending.get(timeout=0.2)
            except queue.Empty:
                continue
            batch = [first]
            while len(batch) < _BATCH and not self.pending.empty():
                batch.append(self.pending.get_nowait())
            for action in (False, True):
                part = [item for item in batch if (item[0] == _CONSENT) == action]
                if part:
                    self._deliver(envelope(part, self._next_ids(len(part))))

    def _next_ids(self, count: int) -> list[str]:
        self._sequence += count
        return [make_id("04l", self._sequence - count + offset + 1) for offset in range(count)]

    def _deliver(self, body: str) -> None:
        backoff = 0.2
        headers = {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '""'}
        while not self._stop.is_set():
            self.attempts += 1
            try:
                response = requests.post(self.url, data=body.encode(), headers=headers, timeout=10)
                if response.status_code == 200 and "<Ack>true</Ack>" in response.text.replace(" ", ""):
                    self.delivered += 1
                    return
            except requests.RequestException:
                pass
            self._stop.wait(backoff)
            backoff = min(backoff * 2, self.max_backoff)


def envelope(batch: list[tuple[str, dict[str, Any]]], notification_ids: list[str]) -> str:
    """The SOAP 1.1 notifications envelope for a batch of (object, record)."""
    parts = []
    for (sobject, record), notification_id in zip(batch, notification_ids, strict=True):
        fields = "".join(
            f"<sf:{name}>{escape(_text(record.get(name)))}</sf:{name}>"
            for name in (CONSENT_FIELDS if sobject == _CONSENT else NOTIFIED_FIELDS)
            if name in record
        )
        parts.append(
            f'<Notification><Id>{notification_id}</Id><sObject xsi:type="sf:{sobject}" '
            f'xmlns:sf="urn:sobject.enterprise.soap.sforce.com">{fields}</sObject></Notification>'
        )
    action = 2 if batch and batch[0][0] == _CONSENT else 1
    base = "https://sandbox.my.salesforce.com/services/Soap"
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body>'
        '<notifications xmlns="http://soap.sforce.com/2005/09/outbound">'
        f"<OrganizationId>{ORG_ID}</OrganizationId><ActionId>{make_id('04k', action)}</ActionId>"
        '<SessionId xsi:nil="true"/>'
        f"<EnterpriseUrl>{base}/c/59.0/{ORG_ID[:15]}</EnterpriseUrl><PartnerUrl>{base}/u/59.0/{ORG_ID[:15]}</PartnerUrl>"
        f"{''.join(parts)}</notifications></soapenv:Body></soapenv:Envelope>"
    )


def _text(value: Any) -> str:
    value = format_value(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)
