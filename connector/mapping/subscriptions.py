"""Subscription statuses (HubSpot's communication preferences) -> consents and opt-outs. Pure: no I/O, no clock.

The adapter reads each contact's statuses and hands them over in ``CrmRecord.fields[STATUSES_FIELD]`` as a tuple
of `SubscriptionStatus`. The mapping's ``subscriptions`` table says which subscription types are marketing on
which channel (a type it does not list says nothing: ``mappings check`` names it), and its ``legal_bases``
table what each status's legal basis code means:

* SUBSCRIBED with a consent basis: a `Consent` on the type's channel, dated by the status's timestamp, given
  to us, specific when the type is (a type that bundles unrelated mailings is not).
* SUBSCRIBED with a legitimate-interest basis: that basis's documented assessment (``lia_ref``), as the
  ``hs_legal_basis`` property is read; a basis that says nothing (``none``, no basis at all) gives no fact.
* UNSUBSCRIBED: an opt-out on the type's channel dated by its timestamp (the latest one counts); a consent
  given later re-opens the channel, as the policy reads a renewed opt-in.
* NOT_SPECIFIED: nothing.

"Unsubscribed from all" is not a status of one type: it stays the ``hs_email_optout`` property, the global
opt-out the mapping's ``optout_email`` slot reads (rule G2). An unknown basis code on a status that counts is
a data issue on its channel, never a guess.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

from connector.mapping.schema import LegalBasis, SubscriptionType
from connector.models import Consent

__all__ = ["STATUSES_FIELD", "SUBSCRIPTION_TYPES", "StatusReading", "SubscriptionStatus", "read_statuses"]

STATUSES_FIELD = "@subscription_statuses"
"""The key of a record's subscription statuses in ``CrmRecord.fields`` (no CRM property has an ``@``)."""

SUBSCRIPTION_TYPES = "@subscription_types"
"""The pseudo-field under which an adapter's describe lists the CRM's subscription types, as ``id:name``
values (``mappings check`` names those the mapping does not place)."""

Status = Literal["SUBSCRIBED", "UNSUBSCRIBED", "NOT_SPECIFIED"]


@dataclass(frozen=True, slots=True)
class SubscriptionStatus:
    """One contact's status for one subscription type, as the CRM reports it."""

    subscription_id: str
    name: str
    """The subscription type's name in the portal (the mapping places types by name or by id)."""
    status: Status
    at: date | None
    """When the status was set (the status's timestamp)."""
    legal_basis: str | None = None
    """The basis code as the API sends it (``CONSENT_WITH_NOTICE``, ``LEGITIMATE_INTEREST_CLIENT``, …)."""


@dataclass(frozen=True, slots=True)
class StatusReading:
    """What a contact's statuses say under the mapping."""

    consents: tuple[Consent, ...] = ()
    optout_email: date | None = None
    optout_phone: date | None = None
    lia_ref: str | None = None
    issues: Mapping[str, str] = field(default_factory=dict)
    """Issue code -> channel."""


Lookup = Callable[[Mapping[str, Any], str], Any | None]


def read_statuses(
    statuses: Iterable[SubscriptionStatus],
    subscriptions: Mapping[str, SubscriptionType],
    legal_bases: Mapping[str, LegalBasis],
    *,
    lookup: Lookup,
    fallback: date,
) -> StatusReading:
    """The consents, opt-outs and assessment the statuses give; ``fallback`` dates a status without a time."""
    consents: list[Consent] = []
    optouts: dict[str, date] = {}
    lia: str | None = None
    issues: dict[str, str] = {}
    for status in statuses:
        placed: SubscriptionType | None = lookup(subscriptions, status.name)
        if placed is None:
            placed = lookup(subscriptions, status.subscription_id)
        if placed is None or placed.channel == "none":
            continue
        channel, at = placed.channel, status.at or fallback
        if status.status == "UNSUBSCRIBED":
            optouts[channel] = max(optouts.get(channel, at), at)
            continue
        if status.status != "SUBSCRIBED" or status.legal_basis is None:
            continue
        basis: LegalBasis | None = lookup(legal_bases, status.legal_basis)
        if basis is None:
            issues["unmapped_legal_basis"] = channel
        elif basis.kind == "consent":
            consent = Consent(channel=channel, date=at, sender_is_us=True, specific=placed.specific)
            if consent not in consents:
                consents.append(consent)
        elif basis.kind == "legitimate_interest" and lia is None:
            lia = basis.lia_ref
    return StatusReading(
        consents=tuple(consents),
        optout_email=optouts.get("email"),
        optout_phone=optouts.get("phone"),
        lia_ref=lia,
        issues=issues,
    )
