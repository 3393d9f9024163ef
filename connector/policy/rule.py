"""What a rule is: a named, cited, dated unit that looks at a Situation and may decide one channel."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Literal, NamedTuple

from connector.models import Basis
from connector.policy.situation import Situation

__all__ = ["Channel", "Outcome", "PostRule", "Rule", "RuleInfo", "allow", "deny", "note"]

Channel = Literal["phone", "email"]


class Outcome(NamedTuple):
    """What a rule found. ``allowed`` None is a note: it is reported and the chain goes on.

    A named tuple rather than a frozen dataclass: just as immutable, and several times cheaper to build, which
    matters because every evaluation builds a few of them."""

    allowed: bool | None
    text: str
    basis: Basis = Basis.NONE
    review: bool = False
    actions: tuple[str, ...] = ()


def deny(text: str, *, review: bool = False, actions: tuple[str, ...] = ()) -> Outcome:
    return Outcome(allowed=False, text=text, review=review, actions=actions)


def allow(text: str, basis: Basis, *, review: bool = False, actions: tuple[str, ...] = ()) -> Outcome:
    return Outcome(allowed=True, text=text, basis=basis, review=review, actions=actions)


def note(text: str, *, review: bool = False, actions: tuple[str, ...] = ()) -> Outcome:
    return Outcome(allowed=None, text=text, review=review, actions=actions)


@dataclass(frozen=True, slots=True, eq=False)
class RuleInfo:
    """The catalogue entry of a rule, as ``lawful-crm rules`` lists it.

    Compared and hashed by identity: each rule exists once, and the engine caches reasons per rule.
    """

    id: str
    code: str
    channel: Literal["phone", "email", "both"]
    country: str
    citation: str
    summary: str
    effective_from: date | None = None
    effective_until: date | None = None
    contested: bool = False
    citations: Mapping[str, str] = field(default_factory=dict)
    """The citation per country pack (ISO code), where the law of that country is more specific than
    ``citation``: a reason cites the law of the contact's own country, never another pack's statute."""

    def citation_for(self, country: str | None) -> str:
        return self.citations.get(country or "", self.citation)

    def in_force(self, now: date) -> bool:
        if self.effective_from is not None and now < self.effective_from:
            return False
        return self.effective_until is None or now <= self.effective_until


@dataclass(frozen=True, slots=True)
class Rule:
    """A deciding rule: returns an Outcome for the channel, or None when it does not apply."""

    info: RuleInfo
    check: Callable[[Situation, Channel], Outcome | None]


@dataclass(frozen=True, slots=True)
class PostRule:
    """A post-check: looks at a permissive verdict and may replace it (L1)."""

    info: RuleInfo
    check: Callable[[Situation, Channel, Outcome], Outcome | None]
