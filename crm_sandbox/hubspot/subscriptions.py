"""The account's subscription types and each subscriber's statuses (HubSpot's communication preferences).

Statuses belong to an e-mail address (HubSpot's ``subscriberIdString`` on the EMAIL channel), not to a contact:
two contacts with one address share them. A seeded address's statuses follow its first contact's generated
person, so they agree with the contact's properties: an opt-in (``email_consent``) is SUBSCRIBED to marketing
with a consent basis on that day, an "unsubscribed from all" contact (``hs_email_optout``) is UNSUBSCRIBED
from marketing on the day it opted out, customers are SUBSCRIBED under a legitimate interest, service types are
SUBSCRIBED under a contract basis or NOT_SPECIFIED, and every ninth address left one-to-one mail. Every type
the account has is reported, NOT_SPECIFIED when nothing was set.

A status set through the API (or the admin endpoint) is stored over the seed, moves the contact's
``hs_email_optout_<id>`` property (as HubSpot does, so the contact's ``lastmodifieddate`` moves) and tells
the listeners, which send the subscription-change webhook.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

from crm_sandbox.hubspot.properties import iso_ms
from crm_sandbox.hubspot.store import ContactStore

STATES = ("SUBSCRIBED", "UNSUBSCRIBED", "NOT_SPECIFIED")
LEGAL_BASES = (
    "LEGITIMATE_INTEREST_PQL",
    "LEGITIMATE_INTEREST_CLIENT",
    "LEGITIMATE_INTEREST_OTHER",
    "PERFORMANCE_OF_CONTRACT",
    "CONSENT_WITH_NOTICE",
    "NON_GDPR",
    "PROCESS_AND_STORE",
)
CREATED = datetime(2019, 8, 6, 9, 30, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Definition:
    """One subscription type of the account."""

    id: str
    name: str
    description: str
    purpose: str
    default: bool = False
    internal: bool = False

    def to_v3(self) -> dict[str, Any]:
        """The ``SubscriptionDefinition`` shape of ``GET /communication-preferences/v3/definitions``."""
        stamp = iso_ms(CREATED)
        return {"id": self.id, "name": self.name, "description": self.description, "purpose": self.purpose,
                "communicationMethod": "Email", "isActive": True, "isDefault": self.default,
                "isInternal": self.internal, "createdAt": stamp, "updatedAt": stamp,
                "businessUnitId": 0}  # fmt: skip


DEFINITIONS = (
    Definition(
        "6125111", "Marketing Information", "Marketing offers and updates.", "Marketing", default=True
    ),
    Definition("6125112", "Product News", "News about our products and events.", "Marketing"),
    Definition("6125113", "One to One", "One to one e-mails from our team.", "Sales", internal=True),
    Definition("6125114", "Customer Service Communication", "Feedback and support.", "Customer Service"),
)
MARKETING, NEWS, ONE_TO_ONE, SERVICE = (d.id for d in DEFINITIONS)


@dataclass(frozen=True, slots=True)
class Status:
    """One address's status for one subscription type."""

    subscription_id: str
    status: str
    at: datetime | None = None
    legal_basis: str | None = None
    explanation: str | None = None
    source: str = "Seeded"

    def to_v4(self, subscriber: str, name: str) -> dict[str, Any]:
        """The ``PublicStatus`` shape of the v4 status endpoints."""
        body: dict[str, Any] = {
            "channel": "EMAIL",
            "source": self.source,
            "status": self.status,
            "subscriberIdString": subscriber,
            "subscriptionId": int(self.subscription_id),
            "subscriptionName": name,
            "timestamp": iso_ms(self.at or CREATED),
            "businessUnitId": 0,
        }
        if self.legal_basis is not None:
            body["legalBasis"] = self.legal_basis
            body["legalBasisExplanation"] = self.explanation or ""
        return body


StatusListener = Callable[[str, str, Status], None]
"""(contact id, changeSource, new status) after a status was set."""


def _day(value: date) -> datetime:
    return datetime.combine(value, time(9, 0), tzinfo=UTC)


class Subscriptions:
    """Definitions and statuses of one account, seeded from the contact store's people."""

    def __init__(self, store: ContactStore) -> None:
        self.store = store
        self.definitions = {d.id: d for d in DEFINITIONS}
        self.written: dict[str, dict[str, Status]] = {}
        self.listeners: list[StatusListener] = []
        self._lock = threading.Lock()
        self._written_emails: dict[str, set[int]] = {}
        """Folded address -> contacts created with it or given it by a write (kept by a store listener)."""
        store.listeners.append(self._on_change)

    def _on_change(self, kind: str, object_id: str, changed: dict[str, str | None], *_: str) -> None:
        if kind != "creation" and "email" not in changed:
            return
        index = self.store.index_of(object_id)
        email = self.store.properties(index).get("email") if index is not None else None
        if index is not None and email:
            with self._lock:
                self._written_emails.setdefault(email.strip().lower(), set()).add(index)

    # addresses -----------------------------------------------------------------------------------------
    def contacts_of(self, email: str) -> list[int]:
        """The live contacts whose current ``email`` is ``email`` (case-insensitive), lowest index first."""
        needle = email.strip().lower()
        with self._lock:
            candidates = set(self._written_emails.get(needle, ()))
        seeded = self.store.seeded_emails().get(needle)
        if seeded is not None:
            candidates.add(seeded)
        return sorted(
            i
            for i in candidates
            if self.store.exists(i)
            and (self.store.properties(i).get("email") or "").strip().lower() == needle
        )

    # statuses ------------------------------------------------------------------------------------------
    def statuses(self, email: str) -> list[Status] | None:
        """Every type's status for ``email``; None when no contact has that address."""
        contacts = self.contacts_of(email)
        if not contacts:
            return None
        seeded = self._seeded(contacts[0])
        written = self.written.get(email.strip().lower(), {})
        return [
            written.get(sid) or seeded.get(sid) or Status(sid, "NOT_SPECIFIED") for sid in self.definitions
        ]

    def _seeded(self, index: int) -> dict[str, Status]:
        if index >= self.store.seeded:
            return {}
        p = self.store.person(index)
        out: dict[str, Status] = {}
        customer = p.relation in ("customer", "former_customer")
        if p.email_consent is not None:
            consent = Status(MARKETING, "SUBSCRIBED", _day(p.email_consent), "CONSENT_WITH_NOTICE",
                             "Opted in on a web form.", "Form submission")  # fmt: skip
            out[MARKETING] = consent
            if index % 2 == 0:
                out[NEWS] = Status(NEWS, "SUBSCRIBED", consent.at, "CONSENT_WITH_NOTICE", consent.explanation,
                                   consent.source)  # fmt: skip
        elif customer:
            out[MARKETING] = Status(MARKETING, "SUBSCRIBED", p.created, "LEGITIMATE_INTEREST_CLIENT",
                                    "Existing customer.", "Import")  # fmt: skip
        if p.optout_email is not None:
            left = Status(MARKETING, "UNSUBSCRIBED", _day(p.optout_email), source="Unsubscribe link")
            out[MARKETING] = left
            out[NEWS] = Status(NEWS, "UNSUBSCRIBED", left.at, source=left.source)
        if customer:
            out[SERVICE] = Status(SERVICE, "SUBSCRIBED", p.created, "PERFORMANCE_OF_CONTRACT",
                                  "Customer contract.", "Import")  # fmt: skip
        if index % 9 == 0:
            out[ONE_TO_ONE] = Status(ONE_TO_ONE, "UNSUBSCRIBED", p.modified, source="Unsubscribe link")
        return out

    def set_status(self, email: str, status: Status, *, source: str) -> Status:
        """Store ``status`` for ``email`` (which a contact has), move its contacts' ``hs_email_optout_<id>``
        and tell the listeners."""
        contacts = self.contacts_of(email)
        if not contacts:
            raise KeyError(email)
        self.written.setdefault(email.strip().lower(), {})[status.subscription_id] = status
        optout = "true" if status.status == "UNSUBSCRIBED" else "false"
        for index in contacts:
            self.store.update(index, {f"hs_email_optout_{status.subscription_id}": optout}, source, "")
            for listener in list(self.listeners):
                listener(self.store.contact_id(index), source, status)
        return status
