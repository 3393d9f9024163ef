"""``evaluate``: one contact's facts in, one explained Decision out.

Per channel, rules run in the order of lawful-use-rules.md §4.3: the gates G1-G8, consent C1-C3, the soft
opt-in S1-S3 (e-mail), then the country pack; the first rule that decides wins, notes are kept. A permissive
verdict then passes the L1 post-check. The engine is pure: ``now`` and the settings are passed in.
"""

from __future__ import annotations

from datetime import date

from connector.models import Basis, ChannelBasis, ContactFacts, Decision, Reason
from connector.policy.category import lawful_use_of
from connector.policy.rule import Channel, Outcome, Rule, RuleInfo
from connector.policy.rules import be, de, fr, nl, uk
from connector.policy.rules.common import CONSENT_RULES, GATES, L1, PACK_COUNTRIES, SOFT_OPT_IN_RULES
from connector.policy.settings import PolicySettings
from connector.policy.situation import Situation, situation_of

__all__ = ["CATALOGUE", "evaluate"]

_PACKS: dict[str, tuple[tuple[Rule, ...], tuple[Rule, ...]]] = {
    "NL": (nl.PHONE, nl.EMAIL),
    "DE": (de.PHONE, de.EMAIL),
    "BE": (be.PHONE, be.EMAIL),
    "FR": (fr.PHONE, fr.EMAIL),
    "GB": (uk.PHONE, uk.EMAIL),
}
_EMPTY_PACK: tuple[tuple[Rule, ...], tuple[Rule, ...]] = ((), ())

CATALOGUE: tuple[RuleInfo, ...] = tuple(
    rule.info
    for rule in (
        *GATES,
        *CONSENT_RULES,
        *SOFT_OPT_IN_RULES,
        *(r for pack in _PACKS.values() for p in pack for r in p),
    )
) + (L1.info,)

_NO_VERDICT = RuleInfo(
    "X0", "NO_RULE_MATCHED", "both", "*", "GDPR 5(2)", "No rule decided: restrictive, review."
)
_Trace = list[tuple[RuleInfo, Outcome]]


def _chain(s: Situation, channel: Channel) -> tuple[Rule, ...]:
    phone_pack, email_pack = _PACKS.get(s.facts.country or "", _EMPTY_PACK)
    if channel == "phone":
        return (*GATES, *CONSENT_RULES, *phone_pack)
    return (*GATES, *CONSENT_RULES, *SOFT_OPT_IN_RULES, *email_pack)


def _decide(s: Situation, channel: Channel) -> tuple[Outcome, _Trace]:
    """Walk the channel's chain; return the effective verdict and every outcome that said something."""
    trace: _Trace = []
    for rule in _chain(s, channel):
        info = rule.info
        if info.channel not in ("both", channel) or not info.in_force(s.now):
            continue
        outcome = rule.check(s, channel)
        if outcome is None:
            continue
        trace.append((info, outcome))
        if outcome.allowed is not None:
            return _post_check(s, channel, outcome, trace)
    fallback = Outcome(allowed=False, text="No rule decided this channel, so it stays closed.", review=True)
    trace.append((_NO_VERDICT, fallback))
    return fallback, trace


def _post_check(s: Situation, channel: Channel, verdict: Outcome, trace: _Trace) -> tuple[Outcome, _Trace]:
    if not verdict.allowed or s.facts.country not in PACK_COUNTRIES:
        return verdict, trace
    outcome = L1.check(s, channel, verdict)
    if outcome is None:
        return verdict, trace
    trace.append((L1.info, outcome))
    return (verdict if outcome.allowed is None else outcome), trace


def _reasons(phone: _Trace, email: _Trace) -> tuple[Reason, ...]:
    email_texts = {(info.id, outcome.text) for info, outcome in email}
    shared = {(info.id, outcome.text) for info, outcome in phone} & email_texts
    reasons = [
        _reason(info, outcome, "both" if (info.id, outcome.text) in shared else "phone")
        for info, outcome in phone
    ]
    reasons += [
        _reason(info, outcome, "email") for info, outcome in email if (info.id, outcome.text) not in shared
    ]
    return tuple(reasons)


def _reason(info: RuleInfo, outcome: Outcome, channel: str) -> Reason:
    return Reason.model_construct(
        rule=info.id, channel=channel, citation=info.citation, text=outcome.text, code=info.code
    )


def _actions(s: Situation, effective: list[Outcome]) -> tuple[str, ...]:
    actions = dict.fromkeys(action for outcome in effective for action in outcome.actions)
    if s.indirect:
        actions["art14_notice"] = None
    return tuple(actions)


def _effective(verdict: Outcome, trace: _Trace) -> list[Outcome]:
    """The notes plus the final verdict: the actions of a verdict that L1 replaced no longer apply."""
    notes = [outcome for _, outcome in trace if outcome.allowed is None]
    return [*notes, verdict]


def evaluate(facts: ContactFacts, *, now: date, settings: PolicySettings) -> Decision:
    """Decide whether ``facts`` may be cold-called and sent marketing e-mail on ``now``, and say why.

    Args:
        facts: the contact, as the canonical model describes it.
        now: the evaluation date; rules with effective dates decide by it.
        settings: profile and thresholds; they are named in ``Decision.policy``.

    Returns:
        The Decision. Evaluation never raises for a valid ContactFacts.
    """
    s = situation_of(facts, now=now, settings=settings)
    phone, phone_trace = _decide(s, "phone")
    email, email_trace = _decide(s, "email")
    objected = any(info.id == "G1" for info, _ in (*phone_trace, *email_trace))
    return Decision.model_construct(
        id=facts.id,
        lawful_use=lawful_use_of(s, objected=objected),
        do_not_cold_call=not phone.allowed,
        email_allowed=bool(email.allowed),
        review_needed=any(outcome.review for _, outcome in (*phone_trace, *email_trace)),
        basis=ChannelBasis.model_construct(
            call=phone.basis if phone.allowed else Basis.NONE,
            email=email.basis if email.allowed else Basis.NONE,
        ),
        reasons=_reasons(phone_trace, email_trace),
        required_actions=_actions(s, [*_effective(phone, phone_trace), *_effective(email, email_trace)]),
        policy=settings.policy_id,
    )
