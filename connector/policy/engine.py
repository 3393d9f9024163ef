"""``evaluate``: one contact's facts in, one explained Decision out.

Per channel, rules run in the order of lawful-use-rules.md §4.3: the gates G1-G9, consent C1-C3, the soft
opt-in S1-S3 (e-mail), then the country pack; the first rule that decides wins, notes are kept. A permissive
verdict then passes the L1 post-check. The engine is pure: ``now`` and the settings are passed in.

``valid_until`` is found by deciding again on each date on which the decision may change (expiry.py), in order.
That is exact but costs a decision per date, so the work is kept small: the parts of the contact that do not
depend on the date are derived once, the rule chains are cached per period of the law's calendar rather than
per date, and a date is given up as soon as one channel shows a change.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from typing import NamedTuple

from connector.models import Basis, ChannelBasis, ContactFacts, Decision, LawfulUse, Reason
from connector.policy.category import lawful_use_of
from connector.policy.expiry import candidate_days, candidates
from connector.policy.rule import Channel, Outcome, RuleInfo, note
from connector.policy.rules.common import CONSENT_RULES, GATES, L1, SOFT_OPT_IN_RULES
from connector.policy.rules.packs import PACK_COUNTRIES, PACKS, pack_for
from connector.policy.settings import PolicySettings
from connector.policy.situation import Situation, situation_of, situation_on

__all__ = ["CATALOGUE", "evaluate", "next_change"]

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

_LAW_DAYS: tuple[date, ...] = tuple(
    sorted(
        {info.effective_from for info in CATALOGUE if info.effective_from is not None}
        | {info.effective_until + _DAY for info in CATALOGUE if info.effective_until is not None}
    )
)
"""The days on which some rule starts or stops being in force: between two of them the chains do not change."""


def _chain_on(country: str | None, channel: Channel, now: date) -> tuple[_Step, ...]:
    """The rules that apply to a channel in a country on a date, in precedence order."""
    return _chain(country if country in PACK_COUNTRIES else None, channel, bisect_right(_LAW_DAYS, now))


@lru_cache(maxsize=256)
def _chain(country: str | None, channel: Channel, period: int) -> tuple[_Step, ...]:
    """The chain for the ``period``-th stretch of the law's calendar (cached: a few keys serve every date)."""
    on = _LAW_DAYS[period - 1] if period else date.min
    pack = pack_for(country)
    if channel == "phone":
        rules = (*GATES, *CONSENT_RULES, *(pack.phone if pack else ()))
    else:
        rules = (*GATES, *CONSENT_RULES, *SOFT_OPT_IN_RULES, *(pack.email if pack else ()))
    return tuple(
        (r.info, r.check) for r in rules if r.info.channel in ("both", channel) and r.info.in_force(on)
    )


@dataclass(slots=True)
class _ChannelResult:
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


def _decide(s: Situation, channel: Channel) -> _ChannelResult:
    """Walk the channel's chain: the first rule that decides wins; notes are kept; L1 checks permissive ones.

    A stale consent (C2) is no gate (§9.3): the chain goes on as if it did not exist, and C2 decides only
    when what follows is restrictive, so an old consent never makes a contact stricter than none at all."""
    trace: list[tuple[RuleInfo, Outcome]] = []
    stale: Outcome | None = None
    country = s.facts.country
    for info, check in _chain_on(country, channel, s.now):
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
    result = _ChannelResult(outcome, trace)
    return result if stale is None else _settle_stale(result, stale, channel)


def _settle_stale(result: _ChannelResult, stale: Outcome, channel: Channel) -> _ChannelResult:
    """Let a stale consent decide a restrictive channel; beside a permissive one it is only a note."""
    if result.verdict.allowed:
        word = "telephone" if channel == "phone" else "e-mail"
        result.trace.append(
            (_C2, note(f"The {word} consent is stale and not needed: another basis allows this channel; refresh"
                       " it to rely on it again.", actions=("refresh_consent",)))
        )  # fmt: skip
        return result
    result.trace.append((_C2, stale))
    return _ChannelResult(stale, result.trace)


_FALLBACK = Outcome(allowed=False, text="No rule decided this channel, so it stays closed.", review=True)


def _reasons(phone: _ChannelResult, email: _ChannelResult, country: str | None) -> tuple[Reason, ...]:
    """Phone reasons, then e-mail reasons; a rule that said the same on both channels is listed once."""
    email_keys = {(info.id, o.text) for info, o in email.trace}
    reasons = []
    shared = set()
    for info, outcome in phone.trace:
        key = (info.id, outcome.text)
        if key in email_keys:
            shared.add(key)
            reasons.append(_reason_of(info, outcome.text, "both", country))
        else:
            reasons.append(_reason_of(info, outcome.text, "phone", country))
    for info, outcome in email.trace:
        if (info.id, outcome.text) not in shared:
            reasons.append(_reason_of(info, outcome.text, "email", country))
    return tuple(reasons)


@lru_cache(maxsize=4096)
def _reason_of(info: RuleInfo, text: str, channel: str, country: str | None) -> Reason:
    return Reason.trusted(
        rule=info.id, channel=channel, citation=info.citation_for(country), text=text, code=info.code
    )


def _actions(s: Situation, phone: _ChannelResult, email: _ChannelResult) -> tuple[str, ...]:
    actions = dict.fromkeys(phone.actions())
    actions.update(dict.fromkeys(email.actions()))
    if s.indirect:
        actions["art14_notice"] = None
    return tuple(actions)


@lru_cache(maxsize=64)
def _channel_basis(call: Basis, email: Basis) -> ChannelBasis:
    return ChannelBasis.trusted(call=call, email=email)


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
    s = situation_of(facts, now=now, settings=settings)
    phone = _decide(s, "phone")
    email = _decide(s, "email")
    call_allowed = bool(phone.verdict.allowed)
    email_allowed = bool(email.verdict.allowed)
    lawful_use = lawful_use_of(s, objected=phone.objected or email.objected)
    review = phone.review or email.review
    actions = _actions(s, phone, email)
    days = candidate_days(facts, now=now, settings=settings, catalogue=CATALOGUE)
    today = _Shown(_shown(phone), _shown(email), review, lawful_use, actions) if days else None
    return Decision.trusted(
        id=facts.id,
        lawful_use=lawful_use,
        do_not_cold_call=not call_allowed,
        email_allowed=email_allowed,
        review_needed=review,
        basis=_channel_basis(
            phone.verdict.basis if call_allowed else Basis.NONE,
            email.verdict.basis if email_allowed else Basis.NONE,
        ),
        reasons=_reasons(phone, email, facts.country),
        required_actions=actions,
        policy=settings.policy_id,
        valid_until=_first_change(s, today, days) if today is not None else None,
    )


def next_change(
    facts: ContactFacts, *, now: date, settings: PolicySettings
) -> tuple[date, tuple[str, ...]] | None:
    """The first date after ``now`` on which ``facts`` are decided differently, and why; None if never."""
    found = candidates(facts, now=now, settings=settings, catalogue=CATALOGUE)
    s = situation_of(facts, now=now, settings=settings)
    day = _first_change(s, _shown_on(s), [day for day, _ in found])
    return None if day is None else (day, dict(found)[day])


_ChannelShown = tuple[bool | None, Basis, tuple[tuple[str, str], ...]]


class _Shown(NamedTuple):
    """What a decision shows, which must stay the same for the decision to hold: per channel the verdict, its
    basis and the rules with their words; then review, category and actions (every field lawful-crm writes, the
    reason text included, derives from these)."""

    phone: _ChannelShown
    email: _ChannelShown
    review: bool
    lawful_use: LawfulUse
    actions: tuple[str, ...]


def _shown(channel: _ChannelResult) -> _ChannelShown:
    verdict = channel.verdict
    return verdict.allowed, verdict.basis, tuple([(info.id, outcome.text) for info, outcome in channel.trace])


def _shown_on(s: Situation) -> _Shown:
    phone = _decide(s, "phone")
    email = _decide(s, "email")
    objected = phone.objected or email.objected
    return _Shown(
        _shown(phone), _shown(email), phone.review or email.review, lawful_use_of(s, objected=objected),
        _actions(s, phone, email),
    )  # fmt: skip


def _first_change(today: Situation, shown: _Shown, days: Iterable[date]) -> date | None:
    """The first of ``days`` on which the decision differs from ``shown``, or None.

    Each day is decided again; the phone channel first, so that a day on which the phone verdict changes costs
    half a decision."""
    for day in days:
        s = situation_on(today, day)
        phone = _decide(s, "phone")
        if _shown(phone) != shown.phone:
            return day
        email = _decide(s, "email")
        if _shown(email) != shown.email:
            return day
        objected = phone.objected or email.objected
        if (
            phone.review or email.review,
            lawful_use_of(s, objected=objected),
            _actions(s, phone, email),
        ) != (shown.review, shown.lawful_use, shown.actions):
            return day
    return None


_G1 = GATES[0].info
_C2 = CONSENT_RULES[1].info
