"""Decided channels and decisions, remembered per signature so that contacts decided alike are walked once.

A channel with a given signature (signature.py) is always decided the same, so its result is kept and shared;
a pair of shared channel results, with the few facts the Decision adds (country, indirect source, category),
always gives the same Decision fields but the id and ``valid_until``, so those are kept too. Memory never
changes a result, only how often it is computed. The tables are bounded: when one is full, all start over.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import NamedTuple

from connector.models import Basis, ChannelBasis, LawfulUse, Reason
from connector.policy.chain import ChannelResult, decide
from connector.policy.rule import Channel, RuleInfo
from connector.policy.settings import PolicySettings
from connector.policy.signature import Signature
from connector.policy.situation import Situation

__all__ = [
    "LATEST",
    "Decided",
    "DecidedChannel",
    "DecisionKey",
    "Memory",
    "Shown",
    "actions_of",
    "memory_for",
]

ChannelShown = tuple[bool | None, Basis, tuple[tuple[str, str], ...]]
"""What a channel shows: its verdict, its basis and the rules with their words."""

_LIMIT = 16_384
"""Entries per table before it starts over: far more than the kinds of contacts a CRM holds."""


@dataclass(frozen=True, slots=True, eq=False)
class DecidedChannel:
    """One channel's decision, shared by every situation with the same signature (compared by identity)."""

    allowed: bool | None
    basis: Basis
    trace: tuple[tuple[RuleInfo, str], ...]
    review: bool
    objected: bool
    actions: tuple[str, ...]
    shown: ChannelShown

    @property
    def content(self) -> tuple[object, ...]:
        """Everything a Decision takes from the channel."""
        return self.allowed, self.basis, self.trace, self.review, self.objected, self.actions


def _decided_channel(result: ChannelResult) -> DecidedChannel:
    verdict = result.verdict
    trace = tuple([(info, outcome.text) for info, outcome in result.trace])
    return DecidedChannel(
        allowed=verdict.allowed,
        basis=verdict.basis,
        trace=trace,
        review=result.review,
        objected=result.objected,
        actions=tuple(result.actions()),
        shown=(verdict.allowed, verdict.basis, tuple([(info.id, text) for info, text in trace])),
    )


class Shown(NamedTuple):
    """What a decision shows, which must stay the same for the decision to hold: per channel the verdict, its
    basis and the rules with their words; then review, category and actions (every field lawful-crm writes, the
    reason text included, derives from these)."""

    phone: ChannelShown
    email: ChannelShown
    review: bool
    lawful_use: LawfulUse
    actions: tuple[str, ...]


class Decided(NamedTuple):
    """A Decision's fields but ``id`` and ``valid_until`` (both None here, in the Decision's field order), and
    what it shows."""

    values: dict[str, object]
    shown: Shown


DecisionKey = tuple[DecidedChannel, DecidedChannel, str | None, bool, LawfulUse]
"""The phone and e-mail channels, the country, whether a source is indirect, and the category."""


@dataclass(slots=True)
class Memory:
    """The remembered channels and decisions under one settings."""

    settings: PolicySettings
    phone: dict[Signature, DecidedChannel] = field(default_factory=dict)
    email: dict[Signature, DecidedChannel] = field(default_factory=dict)
    decided: dict[DecisionKey, Decided] = field(default_factory=dict)
    channels: dict[tuple[object, ...], DecidedChannel] = field(default_factory=dict)
    undated: dict[tuple[object, ...], dict[str, object]] = field(default_factory=dict)
    """Whole Decisions (but the id) of contacts without a date: engine.evaluate."""

    def channel(self, s: Situation, channel: Channel, signature: Signature) -> DecidedChannel:
        """The channel's decision for ``s``, whose signature is ``signature``: remembered, or walked now.

        Equal decisions reached from different signatures are kept once, so that the decisions built from
        them (``decision``) are shared too."""
        table = self.phone if channel == "phone" else self.email
        found = table.get(signature)
        if found is None:
            found = _decided_channel(decide(s, channel))
            if len(table) >= _LIMIT or len(self.channels) >= _LIMIT:
                self.forget()
            found = self.channels.setdefault((channel, *found.content), found)
            table[signature] = found
        return found

    def decision(self, key: DecisionKey) -> Decided:
        """The Decision's fields for two decided channels and the contact's country, indirect source and
        category."""
        found = self.decided.get(key)
        if found is None:
            found = _decided(key, self.settings)
            if len(self.decided) >= _LIMIT:
                self.forget()
            self.decided[key] = found
        return found

    def remember_undated(self, key: tuple[object, ...], values: dict[str, object]) -> dict[str, object]:
        """Keep the fields of an undated contact's Decision (copied: the caller's own go into its Decision)."""
        if len(self.undated) >= _LIMIT:
            self.forget()
        self.undated[key] = values.copy()
        return values

    def forget(self) -> None:
        self.phone.clear()
        self.email.clear()
        self.decided.clear()
        self.channels.clear()
        self.undated.clear()


_MEMORIES: dict[PolicySettings, Memory] = {}


def memory_for(settings: PolicySettings) -> Memory:
    """The memory of ``settings``: equal settings share one. The engine first looks in ``LATEST`` by identity,
    since hashing the settings would cost more than the rest of a remembered decision."""
    memory = _MEMORIES.get(settings)
    if memory is None:
        if len(_MEMORIES) >= 4:  # a run uses one or two settings; each memory holds up to _LIMIT per table
            _MEMORIES.clear()
        memory = _MEMORIES[settings] = Memory(settings)
    LATEST[0] = (settings, memory)
    return memory


LATEST: list[tuple[PolicySettings, Memory]] = [(PolicySettings(), Memory(PolicySettings()))]
"""The settings object used last and its memory, as one pair: read at once, so that concurrent evaluations
under other settings never pair one's settings with another's memory."""


def actions_of(phone: DecidedChannel, email: DecidedChannel, *, indirect: bool) -> tuple[str, ...]:
    """Both channels' actions, each once, and the Art. 14 notice owed for data from an indirect source."""
    actions = dict.fromkeys(phone.actions)
    actions.update(dict.fromkeys(email.actions))
    if indirect:
        actions["art14_notice"] = None
    return tuple(actions)


def _decided(key: DecisionKey, settings: PolicySettings) -> Decided:
    phone, email, country, indirect, lawful_use = key
    call_allowed = bool(phone.allowed)
    email_allowed = bool(email.allowed)
    review = phone.review or email.review
    actions = actions_of(phone, email, indirect=indirect)
    values: dict[str, object] = {
        "id": None,
        "lawful_use": lawful_use,
        "do_not_cold_call": not call_allowed,
        "email_allowed": email_allowed,
        "review_needed": review,
        "basis": _channel_basis(
            phone.basis if call_allowed else Basis.NONE, email.basis if email_allowed else Basis.NONE
        ),
        "reasons": _reasons(phone, email, country),
        "required_actions": actions,
        "policy": settings.policy_id,
        "valid_until": None,
    }
    return Decided(values, Shown(phone.shown, email.shown, review, lawful_use, actions))


@lru_cache(maxsize=64)
def _channel_basis(call: Basis, email: Basis) -> ChannelBasis:
    return ChannelBasis.trusted(call=call, email=email)


def _reasons(phone: DecidedChannel, email: DecidedChannel, country: str | None) -> tuple[Reason, ...]:
    """Phone reasons, then e-mail reasons; a rule that said the same on both channels is listed once."""
    email_keys = {(info.id, text) for info, text in email.trace}
    reasons = []
    shared = set()
    for info, text in phone.trace:
        key = (info.id, text)
        if key in email_keys:
            shared.add(key)
            reasons.append(_reason_of(info, text, "both", country))
        else:
            reasons.append(_reason_of(info, text, "phone", country))
    for info, text in email.trace:
        if (info.id, text) not in shared:
            reasons.append(_reason_of(info, text, "email", country))
    return tuple(reasons)


@lru_cache(maxsize=4096)
def _reason_of(info: RuleInfo, text: str, channel: str, country: str | None) -> Reason:
    return Reason.trusted(
        rule=info.id, channel=channel, citation=info.citation_for(country), text=text, code=info.code
    )
