"""United Kingdom: PECR regulations 21-23 and 26 (TPS, CTPS), read with the UK GDPR."""

from __future__ import annotations

from connector.models import Basis, CallTarget, EmailKind, EntityType, Profile, RegisterList
from connector.policy.rule import Channel, Outcome, Rule, RuleInfo, allow, deny
from connector.policy.rules.registers import unchecked_register
from connector.policy.situation import Situation, period_end

__all__ = ["EMAIL", "PHONE", "register_for"]


def register_for(s: Situation) -> RegisterList:
    """TPS protects individual subscribers' numbers, private mobiles included; CTPS company lines (§9.5)."""
    if s.facts.entity_type is EntityType.BUSINESS and s.facts.call_target is not CallTarget.PRIVATE_MOBILE:
        return RegisterList.UK_CTPS
    return RegisterList.UK_TPS


def _tps_listed_or_unchecked(s: Situation, channel: Channel) -> Outcome | None:
    register = register_for(s)
    screening = s.screening(register)
    unchecked = unchecked_register(s, register, screening)
    if unchecked is not None:
        return unchecked
    if screening is None or not screening.listed:
        return None
    grace = s.settings.uk_tps_grace_days
    since = screening.since
    recent = since is not None and since <= s.now <= period_end(since, days=grace)
    if not recent:
        return deny(f"The number is on the {register.value} register.")
    if s.settings.profile is Profile.LEGAL_MINIMUM:
        return None
    return deny(
        f"The number joined {register.value} within the last {grace} days; PECR 21(3) gives callers that long to"
        " screen, but this policy (conservative) does not call it in that time.",
    )


def _tps_clear(s: Situation, channel: Channel) -> Outcome | None:
    register = register_for(s)
    return allow(
        f"The number was screened against {register.value} and may be called (a listing younger than the"
        " grace period does not yet count).",
        Basis.NATIONAL_OPT_OUT_REGIME,
        actions=("show_caller_id",),
    )


def _corporate_subscriber(s: Situation, channel: Channel) -> Outcome | None:
    # a webmail address belongs to an individual subscriber, whoever employs its owner (§9.5)
    if s.facts.entity_type is not EntityType.BUSINESS or s.facts.email.kind is EmailKind.FREE_MAIL:
        return None
    return allow(
        "PECR's e-mail consent rule does not cover corporate subscribers; identify us and offer an opt-out.",
        Basis.LEGITIMATE_INTEREST,
        actions=("unsubscribe_link",),
    )


def _individual_subscriber(s: Situation, channel: Channel) -> Outcome | None:
    return deny(
        "Individual subscribers in the UK (consumers, sole traders, personal webmail addresses) need consent or"
        " the soft opt-in for marketing e-mail."
    )


PHONE: tuple[Rule, ...] = (
    Rule(
        RuleInfo(
            "U3",
            "UK_TPS_CTPS",
            "phone",
            "GB",
            "PECR 21(1)(b), 21(3), 26",
            "Numbers on TPS (individuals, private mobiles) or CTPS (company lines), or not screened in 30 days, are"
            " not called; listings in their first 28 days count only under conservative (a policy choice).",
        ),
        _tps_listed_or_unchecked,
    ),
    Rule(
        RuleInfo(
            "U4",
            "national_opt_out_regime",
            "phone",
            "GB",
            "PECR 21",
            "Screened numbers not on TPS/CTPS may be called (then L1).",
        ),
        _tps_clear,
    ),
)

EMAIL: tuple[Rule, ...] = (
    Rule(
        RuleInfo(
            "U1",
            "legitimate_interest",
            "email",
            "GB",
            "PECR 22 scope, 23; UK GDPR 6(1)(f)",
            "Corporate subscribers may be e-mailed with identity and opt-out (then L1).",
        ),
        _corporate_subscriber,
    ),
    Rule(
        RuleInfo(
            "U2",
            "UK_INDIVIDUAL_SUBSCRIBER",
            "email",
            "GB",
            "PECR 22(2)",
            "Individual subscribers need consent or the soft opt-in.",
        ),
        _individual_subscriber,
    ),
)
