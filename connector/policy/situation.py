"""Facts about one contact that several rules need, derived once per evaluation.

Pure: every value is computed from the ContactFacts, the settings and the injected ``now``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import Enum

from connector.models import (
    CallTarget,
    Consent,
    ContactFacts,
    EmailKind,
    EntityType,
    RegisterList,
    Screening,
    SourceKind,
)
from connector.policy.settings import PolicySettings

__all__ = [
    "FIRST_PARTY_SOURCES",
    "INDIRECT_SOURCES",
    "ConsentStatus",
    "Situation",
    "months_between",
    "situation_of",
]

FIRST_PARTY_SOURCES = frozenset(
    {
        SourceKind.WEB_FORM_OPTIN,
        SourceKind.WHITEPAPER_OPTIN,
        SourceKind.WHITEPAPER_NO_OPTIN,
        SourceKind.EVENT_OPTIN,
        SourceKind.EXISTING_CUSTOMER,
        SourceKind.PERSONAL_ACQUAINTANCE,
    }
)
INDIRECT_SOURCES = frozenset(
    {
        SourceKind.LINKEDIN_MANUAL,
        SourceKind.LINKEDIN_TOOL,
        SourceKind.PURCHASED_LIST,
        SourceKind.PUBLIC_REGISTRY,
        SourceKind.PUBLIC_WEBSITE,
        SourceKind.SUPPLIER,
        SourceKind.PARTNER,
        SourceKind.EVENT_LIST,
        SourceKind.REFERRAL,
    }
)


class ConsentStatus(Enum):
    """The best consent on one channel, strongest first."""

    FRESH = "fresh"
    STALE = "stale"
    INVALID = "invalid"
    NONE = "none"


def months_between(earlier: date, later: date) -> int:
    """Whole calendar months from ``earlier`` to ``later`` (negative when ``later`` comes first)."""
    months = (later.year - earlier.year) * 12 + later.month - earlier.month
    if later.day < earlier.day:
        months -= 1
    return months


@dataclass(slots=True)
class Situation:
    """Derived facts for one evaluation. Built once by ``situation_of`` and only read afterwards."""

    facts: ContactFacts
    now: date
    settings: PolicySettings
    kinds: frozenset[SourceKind]
    first_party: bool
    indirect: bool
    phone_consent: ConsentStatus
    email_consent: ConsentStatus

    @property
    def natural_person(self) -> bool:
        """Consumers and sole traders: the natural persons of Tw 11.7(2), TPS "individual subscribers"."""
        return self.facts.entity_type in (EntityType.CONSUMER, EntityType.SOLE_TRADER)

    def consent(self, channel: str) -> ConsentStatus:
        return self.phone_consent if channel == "phone" else self.email_consent

    def named_person(self, channel: str) -> bool:
        """Whether the channel reaches a named person rather than a role or switchboard (note on L1)."""
        if channel == "phone":
            return self.facts.call_target is not CallTarget.GENERAL_NUMBER_ROLE
        return self.facts.email.kind in (EmailKind.NAMED_BUSINESS, EmailKind.FREE_MAIL)

    def consent_after(self, channel: str, moment: date) -> bool:
        """A valid, unwithdrawn consent on the channel given after ``moment`` (a renewed opt-in)."""
        if not self.facts.consents:
            return False
        return any(
            c.channel == channel and _usable(c, self.now) and c.date > moment for c in self.facts.consents
        )

    def screening(self, *lists: RegisterList) -> Screening | None:
        """The most recent screening against any of ``lists``, or None."""
        found = [s for s in self.facts.dnc if s.list in lists]
        return max(found, key=lambda s: s.checked) if found else None

    def screening_is_current(self, screening: Screening | None) -> bool:
        if screening is None or screening.checked > self.now:
            return False
        return (self.now - screening.checked).days <= self.settings.dnc_screen_max_age_days

    def customer_age_months(self) -> int | None:
        """Months since the later of last sale and relationship end; None when neither is known."""
        customer = self.facts.customer
        if customer is None:
            return None
        dates = [d for d in (customer.last_sale, customer.relationship_end) if d is not None]
        if not dates:
            return None
        return months_between(max(dates), self.now)


def _usable(consent: Consent, now: date) -> bool:
    """Given by us, specific, dated no later than now and not withdrawn by now."""
    if not (consent.sender_is_us and consent.specific) or consent.date > now:
        return False
    return consent.withdrawn is None or consent.withdrawn > now


def _consent_status(facts: ContactFacts, channel: str, now: date, max_idle: int) -> ConsentStatus:
    best = ConsentStatus.NONE
    if not facts.consents:
        return best
    for consent in facts.consents:
        if consent.channel != channel:
            continue
        if consent.withdrawn is not None and consent.withdrawn <= now:
            continue
        if not _usable(consent, now):
            best = ConsentStatus.INVALID if best is ConsentStatus.NONE else best
            continue
        last_active = max(consent.date, consent.last_used or consent.date)
        if months_between(last_active, now) <= max_idle:
            return ConsentStatus.FRESH
        best = ConsentStatus.STALE
    return best


def situation_of(facts: ContactFacts, *, now: date, settings: PolicySettings) -> Situation:
    kinds = frozenset(source.kind for source in facts.sources)
    max_idle = settings.consent_max_idle_months
    return Situation(
        facts=facts,
        now=now,
        settings=settings,
        kinds=kinds,
        first_party=not kinds.isdisjoint(FIRST_PARTY_SOURCES),
        indirect=not kinds.isdisjoint(INDIRECT_SOURCES),
        phone_consent=_consent_status(facts, "phone", now, max_idle),
        email_consent=_consent_status(facts, "email", now, max_idle),
    )
