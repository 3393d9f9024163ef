"""Facts about one contact that several rules need, derived once per evaluation.

Pure: every value is computed from the ContactFacts, the settings and the injected ``now``.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from operator import attrgetter

from connector.models import (
    CallTarget,
    Consent,
    ContactFacts,
    Customer,
    EmailKind,
    EntityType,
    RegisterList,
    Screening,
    Source,
    SourceKind,
)
from connector.policy.settings import PolicySettings

__all__ = [
    "FIRST_PARTY_SOURCES",
    "INDIRECT_SOURCES",
    "ConsentStatus",
    "Situation",
    "add_months",
    "period_end",
    "situation_of",
    "situation_on",
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


class ConsentStatus(StrEnum):
    """The best consent on one channel, strongest first (a string enum: cheap to hash in a signature)."""

    FRESH = "fresh"
    STALE = "stale"
    INVALID = "invalid"
    NONE = "none"


_MONTH_DAYS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def add_months(start: date, months: int) -> date:
    """The same calendar day ``months`` later, or the month's last day when it has no such day (29 Feb ->
    28 Feb)."""
    year, month = divmod(start.year * 12 + start.month - 1 + months, 12)
    day = start.day
    if day > 28:  # only then can the target month be too short (a table, not calendar.monthrange: hot path)
        last = 29 if month == 1 and calendar.isleap(year) else _MONTH_DAYS[month]
        day = min(day, last)
    return date(year, month + 1, day)


def period_end(start: date, *, months: int = 0, days: int = 0) -> date:
    """The last day of a calendar period that starts on ``start`` (lawful-use-rules.md §9.2).

    "36 months" from 31 May 2023 runs to 31 May 2026 inclusive; "30 days" from 1 March to 31 March inclusive.
    A date is within the period when it is on or before this day.
    """
    key = (start, months, days)
    end = _PERIOD_ENDS.get(key)
    if end is None:
        end = add_months(start, months) if months else start
        end = end + timedelta(days=days) if days else end
        if len(_PERIOD_ENDS) >= 65_536:
            _PERIOD_ENDS.clear()
        _PERIOD_ENDS[key] = end
    return end


_PERIOD_ENDS: dict[tuple[date, int, int], date] = {}
"""Period ends already worked out: a CRM's dates repeat, and consents, terms and screenings ask for the same
periods when a decision is made and again for every date on which it may change."""


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
    customer: Customer | None
    """The customer relationship, unless it is dated after now: a sale or an end of the relationship that lies
    in the future is no relationship yet (§9.1), so it never loosens a rule."""

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
        """The most recent screening against any of ``lists`` checked on or before now, or None.

        A screening dated after now is no evidence yet (§9.1): it never stands in for a current one."""
        now = self.now
        found = None
        for screening in self.facts.dnc:  # the first of the most recent, as max() would pick
            checked = screening.checked
            if screening.list in lists and checked <= now and (found is None or checked > found.checked):
                found = screening
        return found

    def screening_is_current(self, screening: Screening | None) -> bool:
        if screening is None or screening.checked > self.now:
            return False
        return self.now <= period_end(screening.checked, days=self.settings.dnc_screen_max_age_days)

    def customer_anchor(self) -> date | None:
        """The later of last sale and relationship end, from which customer periods run; None when neither is
        known or the relationship is dated after now."""
        customer = self.customer
        if customer is None:
            return None
        last_sale, end = customer.last_sale, customer.relationship_end
        if last_sale is None or end is None:
            return end if last_sale is None else last_sale
        return max(last_sale, end)

    def customer_within(self, months: int) -> bool | None:
        """Whether now lies within ``months`` calendar months of the customer anchor; None when undated."""
        anchor = self.customer_anchor()
        if anchor is None:
            return None
        return self.now <= period_end(anchor, months=months)


def _usable(consent: Consent, now: date) -> bool:
    """Given by us, specific, dated no later than now, never withdrawn and not past its end.

    A withdrawal dated after now is a data error that still counts (§9.1): it closes the channel at once."""
    if not (consent.sender_is_us and consent.specific) or consent.date > now:
        return False
    return consent.withdrawn is None and not _ended(consent, now)


def _ended(consent: Consent, now: date) -> bool:
    """Whether the end the consent was given with has come: from that day it counts as none."""
    return consent.ends is not None and consent.ends <= now


def _consent_statuses(
    consents: tuple[Consent, ...], now: date, max_idle: int
) -> tuple[ConsentStatus, ConsentStatus]:
    """The best consent on the phone and on the e-mail channel, in one pass: fresh over stale over invalid
    over none, whatever the order of the consents."""
    phone = email = 0  # an index into _BY_STRENGTH
    for consent in consents:  # _ended and _usable, written out: every consent of every contact comes here
        ends = consent.ends
        if consent.withdrawn is not None or (ends is not None and ends <= now):
            continue
        if not (consent.sender_is_us and consent.specific) or consent.date > now:
            strength = 1
        else:
            used = consent.last_used if consent.last_used is not None and consent.last_used <= now else None
            last_active = max(
                consent.date, used or consent.date
            )  # a use dated after now is no use yet (§9.1)
            strength = 3 if now <= period_end(last_active, months=max_idle) else 2
        if consent.channel == "phone":
            phone = max(phone, strength)
        else:
            email = max(email, strength)
    return _BY_STRENGTH[phone], _BY_STRENGTH[email]


_BY_STRENGTH = (ConsentStatus.NONE, ConsentStatus.INVALID, ConsentStatus.STALE, ConsentStatus.FRESH)


def _current_customer(customer: Customer | None, now: date) -> Customer | None:
    if customer is None:
        return None
    last_sale, end = customer.last_sale, customer.relationship_end
    if (last_sale is not None and last_sale > now) or (end is not None and end > now):
        return None
    return customer


def situation_of(facts: ContactFacts, *, now: date, settings: PolicySettings) -> Situation:
    found = _KINDS.get(tuple(map(_KIND_OF, facts.sources)))
    kinds, first_party, indirect = _kinds_of(facts.sources) if found is None else found
    return _situation(facts, now, settings, kinds, first_party=first_party, indirect=indirect)


_KIND_OF = attrgetter("kind")
_KINDS: dict[tuple[SourceKind, ...], tuple[frozenset[SourceKind], bool, bool]] = {}


def _kinds_of(sources: tuple[Source, ...]) -> tuple[frozenset[SourceKind], bool, bool]:
    """The set of source kinds, and whether one is first-party and one indirect (remembered per sequence of
    kinds: few occur)."""
    listed = tuple(map(_KIND_OF, sources))
    kinds = frozenset(listed)
    found = (kinds, not kinds.isdisjoint(FIRST_PARTY_SOURCES), not kinds.isdisjoint(INDIRECT_SOURCES))
    if len(_KINDS) < 4096:
        _KINDS[listed] = found
    return found


def situation_on(s: Situation, now: date) -> Situation:
    """The same facts and settings on another date: the parts that do not depend on the date are reused (the
    engine asks this for every date on which a decision may change)."""
    return _situation(s.facts, now, s.settings, s.kinds, first_party=s.first_party, indirect=s.indirect)


def _situation(
    facts: ContactFacts,
    now: date,
    settings: PolicySettings,
    kinds: frozenset[SourceKind],
    *,
    first_party: bool,
    indirect: bool,
) -> Situation:
    customer = facts.customer
    if facts.consents:
        phone, email = _consent_statuses(facts.consents, now, settings.consent_max_idle_months)
    else:
        phone = email = ConsentStatus.NONE
    return Situation(
        facts,
        now,
        settings,
        kinds,
        first_party,
        indirect,
        phone,
        email,
        None if customer is None else _current_customer(customer, now),
    )
