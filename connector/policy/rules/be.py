"""Belgium: Wetboek Economisch Recht VI.110-114 (DNCM register) and XII.13 with the KB of 4 April 2003."""

from __future__ import annotations

from connector.models import Basis, EmailKind, EntityType, RegisterList
from connector.policy.rule import Channel, Outcome, Rule, RuleInfo, allow, deny
from connector.policy.rules.registers import unchecked_register
from connector.policy.situation import Situation

__all__ = ["EMAIL", "PHONE"]


def _dncm_listed_or_unchecked(s: Situation, channel: Channel) -> Outcome | None:
    screening = s.screening(RegisterList.BE_DNCM)
    unchecked = unchecked_register(s, RegisterList.BE_DNCM, screening)
    if unchecked is not None:
        return unchecked
    if screening is not None and screening.listed:
        return deny("The number is on the Belgian 'Bel me niet meer' register (DNCM).")
    return None


def _dncm_clear(s: Situation, channel: Channel) -> Outcome | None:
    return allow(
        "The number was screened against the Belgian DNCM register and is not on it; Belgium allows calls unless"
        " the person objected.",
        Basis.NATIONAL_OPT_OUT_REGIME,
        actions=("offer_objection_in_call", "show_caller_id"),
    )


def _generic_business_address(s: Situation, channel: Channel) -> Outcome | None:
    if s.facts.entity_type is not EntityType.BUSINESS or s.facts.email.kind is not EmailKind.ROLE_GENERIC:
        return None
    return allow(
        "A generic address of a company (info@, sales@) may get offers in Belgium, with an opt-out.",
        Basis.NO_CONSENT_NEEDED_LEGAL_PERSON,
        actions=("unsubscribe_link",),
    )


def _email_needs_consent(s: Situation, channel: Channel) -> Outcome | None:
    return deny("Belgian law requires prior consent for marketing e-mail to this address; none is recorded.")


PHONE: tuple[Rule, ...] = (
    Rule(
        RuleInfo(
            "B3",
            "BE_DNCM",
            "phone",
            "BE",
            "WER VI.110-114",
            "Numbers on the DNCM register, or not screened in the last 30 days, are not called.",
        ),
        _dncm_listed_or_unchecked,
    ),
    Rule(
        RuleInfo(
            "B4",
            "national_opt_out_regime",
            "phone",
            "BE",
            "WER VI.110",
            "Numbers screened and not on the DNCM register may be called (then L1 for named persons).",
        ),
        _dncm_clear,
    ),
)

EMAIL: tuple[Rule, ...] = (
    Rule(
        RuleInfo(
            "B1",
            "national_b2b_exception",
            "email",
            "BE",
            "KB 4 Apr 2003",
            "Generic addresses of legal persons may get offers without consent, with an opt-out.",
        ),
        _generic_business_address,
    ),
    Rule(
        RuleInfo(
            "B2",
            "BE_EMAIL_OPTIN",
            "email",
            "BE",
            "WER XII.13",
            "Every other marketing e-mail needs consent or the soft opt-in.",
        ),
        _email_needs_consent,
    ),
)
