"""``evaluate``: one contact's facts in, one explained Decision out.

Each channel is decided by walking its rule chain (chain.py). Contacts that the rules cannot tell apart share a
signature (signature.py), and a signature is walked once and then remembered (memory.py), which makes the
result no different and the work much smaller; a contact without dated facts is remembered whole. The engine is
pure: ``now`` and the settings are passed in, and memory never changes a result.

``valid_until`` is found by deciding again on each date on which the decision may change (expiry.py), in order.
On most of those dates the signatures stay the same, and then so do the channels; only a changed signature is
decided (or recalled) again, and a date is given up as soon as one channel shows a change. When the gates close
both channels, only the dates on which a consent, a sale or a screening begins (or a consent ends) are tried.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable
from datetime import date
from operator import attrgetter
from typing import NamedTuple

from connector.models import ContactFacts, Decision
from connector.policy.category import lawful_use_of
from connector.policy.chain import CATALOGUE, LAW_DAYS
from connector.policy.expiry import candidate_days, candidates, gate_days
from connector.policy.memory import LATEST, Decided, DecidedChannel, Memory, actions_of, memory_for
from connector.policy.settings import PolicySettings
from connector.policy.signature import Signature, signatures
from connector.policy.situation import Situation, situation_of, situation_on

__all__ = ["CATALOGUE", "evaluate", "next_change"]


class _Today(NamedTuple):
    """A contact decided on its evaluation date, with what deciding it on another date needs."""

    s: Situation
    memory: Memory
    phone_signature: Signature
    email_signature: Signature
    phone: DecidedChannel
    email: DecidedChannel
    decided: Decided


def _today(facts: ContactFacts, now: date, settings: PolicySettings) -> _Today:
    """Decide ``facts`` on ``now``: the steps of ``evaluate``, kept for ``next_change``."""
    latest, memory = LATEST[0]
    if latest is not settings:
        memory = memory_for(settings)
    s = situation_of(facts, now=now, settings=settings)
    phone_sig, email_sig, _ = signatures(s, bisect_right(LAW_DAYS, now))
    phone = memory.phone.get(phone_sig) or memory.channel(s, "phone", phone_sig)
    email = memory.email.get(email_sig) or memory.channel(s, "email", email_sig)
    lawful_use = lawful_use_of(s, objected=phone.objected or email.objected)
    key = (phone, email, facts.country, s.indirect, lawful_use)
    decided = memory.decided.get(key) or memory.decision(key)
    return _Today(s, memory, phone_sig, email_sig, phone, email, decided)


def evaluate(facts: ContactFacts, *, now: date, settings: PolicySettings) -> Decision:
    """Decide whether ``facts`` may be cold-called and sent marketing e-mail on ``now``, and say why.

    Args:
        facts: the contact, as the canonical model describes it.
        now: the evaluation date; rules with effective dates decide by it.
        settings: profile and thresholds; they are named in ``Decision.policy``.

    Returns:
        The Decision, with ``valid_until``: the first later date on which the same facts are decided
        differently, or None. Evaluation never raises for a valid ContactFacts.
    """
    latest, memory = LATEST[0]
    if latest is not settings:
        memory = memory_for(settings)
    period = bisect_right(LAW_DAYS, now)
    if (
        facts.consents
        or facts.customer is not None
        or facts.dnc
        or facts.objection is not None
        or facts.optout_email is not None
        or facts.optout_phone is not None
        or facts.issues
    ):
        return _decision(_values(facts, now, period, memory))
    # an undated contact: its whole decision, valid_until included, depends only on what it is and the period
    email = facts.email
    key = (
        period,
        facts.country,
        facts.entity_type,
        facts.call_target,
        email.kind,
        email.published_for_offers,
        facts.lia_ref is None,
        tuple(map(_KIND_OF, facts.sources)),
    )
    values = memory.undated.get(key)
    if values is None:
        values = memory.remember_undated(key, _values(facts, now, period, memory))
    values = values.copy()
    values["id"] = facts.id
    return _decision(values)


def _values(facts: ContactFacts, now: date, period: int, memory: Memory) -> dict[str, object]:
    """The steps of ``_today``, written out (this is the path of every dated contact), then ``valid_until``:
    the Decision's fields."""
    s = situation_of(facts, now=now, settings=memory.settings)
    phone_sig, email_sig, closed = signatures(s, period)
    phone = memory.phone.get(phone_sig) or memory.channel(s, "phone", phone_sig)
    email = memory.email.get(email_sig) or memory.channel(s, "email", email_sig)
    key = (
        phone,
        email,
        facts.country,
        s.indirect,
        lawful_use_of(s, objected=phone.objected or email.objected),
    )
    decided = memory.decided.get(key) or memory.decision(key)
    values = decided.values.copy()
    values["id"] = facts.id
    if closed:
        days = (
            gate_days(facts, now=now) if facts.consents or facts.customer is not None or facts.dnc else None
        )
    else:
        days = candidate_days(facts, now=now, settings=memory.settings, catalogue=CATALOGUE)
    if days:
        today = _Today(s, memory, phone_sig, email_sig, phone, email, decided)
        values["valid_until"] = _first_change(today, days)
    return values


_KIND_OF = attrgetter("kind")


def _decision(values: dict[str, object]) -> Decision:
    """``Decision.trusted(**values)`` for a dict of every field the engine made for it alone: the same object,
    built without packing the fields again (one per evaluation, so it counts)."""
    decision = _new(Decision)
    _set(decision, "__dict__", values)
    _set(decision, "__pydantic_fields_set__", set(values))
    _set(decision, "__pydantic_extra__", None)
    _set(decision, "__pydantic_private__", None)
    return decision


_new = object.__new__
_set = object.__setattr__


def next_change(
    facts: ContactFacts, *, now: date, settings: PolicySettings
) -> tuple[date, tuple[str, ...]] | None:
    """The first date after ``now`` on which ``facts`` are decided differently, and why; None if never."""
    found = candidates(facts, now=now, settings=settings, catalogue=CATALOGUE)
    day = _first_change(_today(facts, now, settings), [day for day, _ in found])
    return None if day is None else (day, dict(found)[day])


def _first_change(today: _Today, days: Iterable[date]) -> date | None:
    """The first of ``days`` on which the decision differs from ``today``'s, or None.

    A channel whose signature is unchanged on a day is decided the same; the phone channel goes first, so that
    a day on which the phone verdict changes costs half a decision."""
    memory, shown = today.memory, today.decided.shown
    for day in days:
        s = situation_on(today.s, day)
        phone_sig, email_sig, _ = signatures(s, bisect_right(LAW_DAYS, day))
        phone = today.phone
        if phone_sig != today.phone_signature:
            phone = memory.phone.get(phone_sig) or memory.channel(s, "phone", phone_sig)
            if phone is not today.phone and phone.shown != shown.phone:
                return day
        email = today.email
        if email_sig != today.email_signature:
            email = memory.email.get(email_sig) or memory.channel(s, "email", email_sig)
            if email is not today.email and email.shown != shown.email:
                return day
        if lawful_use_of(s, objected=phone.objected or email.objected) != shown.lawful_use:
            return day
        if (phone is not today.phone or email is not today.email) and (
            phone.review or email.review,
            actions_of(phone, email, indirect=s.indirect),
        ) != (shown.review, shown.actions):
            return day
    return None
