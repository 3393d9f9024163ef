"""The rule chain of one channel, and the walk along it that decides the channel.

Per channel, rules run in the order of lawful-use-rules.md §4.3: the gates G1-G9, consent C1-C3, the soft
opt-in S1-S3 (e-mail), then the country pack; the first rule that decides wins, notes are kept. A permissive
verdict then passes the L1 post-check. The chains are cached per period of the law's calendar, not per date.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

from connector.policy.rule import Channel, Outcome, RuleInfo, note
from connector.policy.rules.common import CONSENT_RULES, GATES, L1, SOFT_OPT_IN_RULES
from connector.policy.rules.packs import PACK_COUNTRIES, PACKS, pack_for
from connector.policy.situation import Situation

__all__ = ["CATALOGUE", "LAW_DAYS", "ChannelResult", "decide", "period_of"]

_DAY = timedelta(days=1)

_ALL_RULES = (
    *GATES,
    *CONSENT_RULES,
    *SOFT_OPT_IN_RULES,
    *(rule for pack in PACKS for rule in (*pack.phone, *pack.email)),
)
CATALOGUE: tuple[RuleInfo, ...] = (*(rule.info for rule in _ALL_RULES), L1.info)

_NO_VERDICT = RuleInfo(
    "X0", "NO_RULE_MATCHED", "both", "*", "GDPR 5(2)", "No rule decided: restrictive, review."
)

_Step = tuple[RuleInfo, Callable[[Situation, Channel], Outcome | None]]

LAW_DAYS: tuple[date, ...] = tuple(
    sorted(
        {info.effective_from for info in CATALOGUE if info.effective_from is not None}
        | {info.effective_until + _DAY for info in CATALOGUE if info.effective_until is not None}
    )
)
"""The days on which some rule starts or stops being in force: between two of them the chains do not change."""


def period_of(day: date) -> int:
    """Which stretch of the law's calendar ``day`` falls in: days of one period have the same chains."""
    return bisect_right(LAW_DAYS, day)


@lru_cache(maxsize=256)
def _chain(country: str | None, channel: Channel, period: int) -> tuple[_Step, ...]:
    """The chain for the ``period``-th stretch of the law's calendar (cached: a few keys serve every date)."""
    on = LAW_DAYS[period - 1] if period else date.min
    pack = pack_for(country)
    if channel == "phone":
        rules = (*GATES, *CONSENT_RULES, *(pack.phone if pack else ()))
    else:
        rules = (*GATES, *CONSENT_RULES, *SOFT_OPT_IN_RULES, *(pack.email if pack else ()))
    return tuple(
        (r.info, r.check) for r in rules if r.info.channel in ("both", channel) and r.info.in_force(on)
    )


@dataclass(slots=True)
class ChannelResult:
    """The effective verdict on one channel and every (rule, outcome) that said something on the way."""

    verdict: Outcome
    trace: list[tuple[RuleInfo, Outcome]]

    @property
    def review(self) -> bool:
        return any(outcome.review for _, outcome in self.trace)

    @property
    def objected(self) -> bool:
        """G1, when it fires, is always the first rule of the trace."""
        return bool(self.trace) and self.trace[0][0] is _G1

    def actions(self) -> Iterator[str]:
        """The actions that apply: those of the notes and of the final verdict (not of a verdict L1 replaced)."""
        for _, outcome in self.trace:
            if outcome.allowed is None:
                yield from outcome.actions
        yield from self.verdict.actions


def decide(s: Situation, channel: Channel) -> ChannelResult:
    """Walk the channel's chain: the first rule that decides wins; notes are kept; L1 checks permissive ones.

    A stale consent (C2) is no gate (§9.3): the chain goes on as if it did not exist, and C2 decides only
    when what follows is restrictive, so an old consent never makes a contact stricter than none at all."""
    trace: list[tuple[RuleInfo, Outcome]] = []
    stale: Outcome | None = None
    country = s.facts.country
    chain = _chain(country if country in PACK_COUNTRIES else None, channel, period_of(s.now))
    for info, check in chain:
        outcome = check(s, channel)
        if outcome is None:
            continue
        if info is _C2:
            stale = outcome
            continue
        trace.append((info, outcome))
        if outcome.allowed is None:
            continue
        if outcome.allowed and country in PACK_COUNTRIES:
            checked = L1.check(s, channel, outcome)
            if checked is not None:
                trace.append((L1.info, checked))
                if checked.allowed is not None:
                    outcome = checked
        break
    else:
        outcome = _FALLBACK
        trace.append((_NO_VERDICT, outcome))
    result = ChannelResult(outcome, trace)
    return result if stale is None else _settle_stale(result, stale, channel)


def _settle_stale(result: ChannelResult, stale: Outcome, channel: Channel) -> ChannelResult:
    """Let a stale consent decide a restrictive channel; beside a permissive one it is only a note."""
    if result.verdict.allowed:
        word = "telephone" if channel == "phone" else "e-mail"
        result.trace.append(
            (_C2, note(f"The {word} consent is stale and not needed: another basis allows this channel; refresh"
                       " it to rely on it again.", actions=("refresh_consent",)))
        )  # fmt: skip
        return result
    result.trace.append((_C2, stale))
    return ChannelResult(stale, result.trace)


_FALLBACK = Outcome(allowed=False, text="No rule decided this channel, so it stays closed.", review=True)

_G1 = GATES[0].info
_C2 = CONSENT_RULES[1].info
