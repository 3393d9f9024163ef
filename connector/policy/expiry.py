"""When a decision expires: the dates on which the same facts may be decided differently.

A decision depends on ``now`` as well as on the facts (lawful-use-rules.md §9.10): consents go stale, the soft
opt-in and the Dutch customer exception run out, register screenings age, a TPS listing takes effect after its
grace period, a fact dated in the future starts to count, and rules switch on their effective dates. Each of
those thresholds is a *candidate*; the decision is evaluated again on each candidate in date order, and the first
one that changes what the CRM shows is the expiry. Pure: every date comes from the facts, the settings and the
rule catalogue.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from functools import lru_cache

from connector.models import ContactFacts
from connector.policy.rule import RuleInfo
from connector.policy.rules.nl import CUSTOMER_CALL_MONTHS
from connector.policy.settings import PolicySettings
from connector.policy.situation import period_end

__all__ = ["Candidate", "candidate_days", "candidates", "gate_days"]

_DAY = timedelta(days=1)

Candidate = tuple[date, str]
"""A date on which a decision may change, and why in plain words (``upcoming`` groups by it)."""


def _after(end: date) -> date:
    """The first day after a period that includes ``end``."""
    return end + _DAY


def _dated(facts: ContactFacts, settings: PolicySettings) -> Iterator[Candidate]:
    for consent in facts.consents:
        yield consent.date, "a consent dated ahead starts to count"
        for start in (consent.date, consent.last_used):
            if start is not None:
                yield (
                    _after(period_end(start, months=settings.consent_max_idle_months)),
                    "a consent goes stale",
                )
        if consent.last_used is not None:
            yield consent.last_used, "a consent's recorded use starts to count"
        if consent.ends is not None:
            yield consent.ends, "a consent reaches the end it was given with"
    customer = facts.customer
    if customer is not None:
        for start in (customer.last_sale, customer.relationship_end):
            if start is None:
                continue
            yield start, "a customer relationship dated ahead starts or ends"
            yield _after(period_end(start, months=settings.soft_opt_in_max_months)), "the soft opt-in ends"
            yield (
                _after(period_end(start, months=CUSTOMER_CALL_MONTHS)),
                "the three-year customer call exception ends",
            )
    for screening in facts.dnc:
        yield screening.checked, "a register screening dated ahead starts to count"
        yield (
            _after(period_end(screening.checked, days=settings.dnc_screen_max_age_days)),
            f"the {screening.list.value} screening grows too old",
        )
        if screening.since is not None:
            yield screening.since, f"a {screening.list.value} listing dated ahead starts to count"
            yield (
                _after(period_end(screening.since, days=settings.uk_tps_grace_days)),
                f"a {screening.list.value} listing's grace period ends",
            )


@lru_cache(maxsize=64)
def _law(country: str | None, catalogue: tuple[RuleInfo, ...]) -> tuple[Candidate, ...]:
    """The effective dates of the rules that can apply in ``country`` (cached: the catalogue is fixed)."""
    found: list[Candidate] = []
    for info in catalogue:
        if info.country not in ("*", country):
            continue
        if info.effective_from is not None:
            found.append((info.effective_from, f"rule {info.id} takes effect on {info.effective_from}"))
        if info.effective_until is not None:
            found.append((_after(info.effective_until), f"rule {info.id} ends after {info.effective_until}"))
    return tuple(found)


_LAW_DAYS: dict[str | None, tuple[tuple[RuleInfo, ...], tuple[date, ...]]] = {}


def _law_days(country: str | None, catalogue: tuple[RuleInfo, ...]) -> tuple[date, ...]:
    """The days of ``_law``, in order (cached per country, for the catalogue it was asked with)."""
    found = _LAW_DAYS.get(country)
    if found is None or found[0] is not catalogue:
        if len(_LAW_DAYS) >= 512:
            _LAW_DAYS.clear()
        found = _LAW_DAYS[country] = (catalogue, tuple(sorted({day for day, _ in _law(country, catalogue)})))
    return found[1]


def candidates(
    facts: ContactFacts, *, now: date, settings: PolicySettings, catalogue: tuple[RuleInfo, ...]
) -> list[tuple[date, tuple[str, ...]]]:
    """Every date after ``now`` on which the decision of ``facts`` may change, in order, with its causes."""
    found: dict[date, list[str]] = {}
    for day, cause in (*_dated(facts, settings), *_law(facts.country, catalogue)):
        if day > now and cause not in found.setdefault(day, []):
            found[day].append(cause)
    return [(day, tuple(found[day])) for day in sorted(found)]


def candidate_days(
    facts: ContactFacts, *, now: date, settings: PolicySettings, catalogue: tuple[RuleInfo, ...]
) -> list[date]:
    """The dates of ``candidates`` without their causes, in order: all that ``evaluate`` needs, for less work
    (most contacts have none, and then no decision is made again)."""
    law = _law_days(facts.country, catalogue)
    if (facts.consents or facts.customer is not None or facts.dnc) and not _all_behind(facts, now, settings):
        days = _dated_days(facts, settings)
    elif law and law[-1] > now:
        days = set()
    else:
        return []
    if law and law[-1] > now:
        days.update(law)
    return sorted([day for day in days if day > now])


def _all_behind(facts: ContactFacts, now: date, settings: PolicySettings) -> bool:
    """Whether every date of ``_dated`` is on or before ``now``, told without working them out: each is a fact's
    own date, or a period from one that lasts at most the longest term in months (31 days a month at most) and
    days, plus a day; a consent's end counts as itself."""
    months = max(settings.consent_max_idle_months, settings.soft_opt_in_max_months, CUSTOMER_CALL_MONTHS)
    days = max(settings.dnc_screen_max_age_days, settings.uk_tps_grace_days)
    horizon = now - timedelta(days=31 * months + days + 1)
    for consent in facts.consents:
        if consent.date > horizon or (consent.last_used is not None and consent.last_used > horizon):
            return False
        if consent.ends is not None and consent.ends > now:
            return False
    customer = facts.customer
    if customer is not None:
        for start in (customer.last_sale, customer.relationship_end):
            if start is not None and start > horizon:
                return False
    for screening in facts.dnc:
        if screening.checked > horizon or (screening.since is not None and screening.since > horizon):
            return False
    return True


def _dated_days(facts: ContactFacts, settings: PolicySettings) -> set[date]:
    """The dates of ``_dated``, computed alike but without their causes (``_dated`` is the reference; a test
    holds the two equal)."""
    days: set[date] = set()
    add = days.add
    idle = settings.consent_max_idle_months
    for consent in facts.consents:
        add(consent.date)
        add(period_end(consent.date, months=idle) + _DAY)
        used = consent.last_used
        if used is not None:
            add(period_end(used, months=idle) + _DAY)
            add(used)
        if consent.ends is not None:
            add(consent.ends)
    customer = facts.customer
    if customer is not None:
        for start in (customer.last_sale, customer.relationship_end):
            if start is not None:
                add(start)
                add(period_end(start, months=settings.soft_opt_in_max_months) + _DAY)
                add(period_end(start, months=CUSTOMER_CALL_MONTHS) + _DAY)
    for screening in facts.dnc:
        add(screening.checked)
        add(period_end(screening.checked, days=settings.dnc_screen_max_age_days) + _DAY)
        since = screening.since
        if since is not None:
            add(since)
            add(period_end(since, days=settings.uk_tps_grace_days) + _DAY)
    return days


def gate_days(facts: ContactFacts, *, now: date) -> list[date]:
    """The dates after ``now`` that can change a decision whose channels the gates G1-G6 close, in order.

    Such a decision reads the date only through which consents are usable (G1-G3's renewed consent, the
    category), whether the customer relationship has begun (the category) and which of our own screenings is
    the latest (G3): those change when a consent, a sale, the end of a relationship or a screening is
    reached, and when a consent reaches its end. Staleness, terms, screening age and the law's calendar decide
    nothing here. The first date that changes the decision is among these."""
    days: list[date] = []
    for consent in facts.consents:
        if consent.date > now:
            days.append(consent.date)
        if consent.ends is not None and consent.ends > now:
            days.append(consent.ends)
    customer = facts.customer
    if customer is not None:
        for start in (customer.last_sale, customer.relationship_end):
            if start is not None and start > now:
                days.append(start)
    for screening in facts.dnc:
        if screening.checked > now:
            days.append(screening.checked)
    return sorted(set(days)) if days else days
