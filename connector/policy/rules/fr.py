"""France: CPCE L34-5 for e-mail; Code de la consommation L223-1 for calls (Loi 2025-594 from 2026-08-11)."""

from __future__ import annotations

from datetime import date

from connector.models import Basis, EmailKind, EntityType, RegisterList
from connector.policy.rule import Channel, Outcome, Rule, RuleInfo, allow, deny
from connector.policy.rules.registers import unchecked_register
from connector.policy.situation import Situation

__all__ = ["EMAIL", "PHONE"]

CONSUMER_CALL_OPTIN = date(2026, 8, 11)


def _consumer_call_optin(s: Situation, channel: Channel) -> Outcome | None:
    if not s.natural_person:
        return None
    c = s.facts.customer
    ongoing = c is not None and c.paid and (c.relationship_end is None or c.relationship_end > s.now)
    if ongoing and c is not None and c.similar_offer:
        return allow(
            "Since 2026-08-11 a French consumer may be called without consent only about an offer directly linked"
            " to an ongoing contract, which is the case here.",
            Basis.SOFT_OPT_IN,
            actions=("offer_objection_in_call", "show_caller_id"),
        )
    return deny(
        "Since 2026-08-11 calling a French consumer needs prior consent, unless the offer is linked to an ongoing"
        " contract; neither is recorded."
    )


def _bloctel(s: Situation, channel: Channel) -> Outcome | None:
    if not s.natural_person:
        return None
    screening = s.screening(RegisterList.FR_BLOCTEL)
    unchecked = unchecked_register(s, RegisterList.FR_BLOCTEL, screening)
    if unchecked is not None:
        return unchecked
    if screening is not None and screening.listed:
        return deny("The number is on the French Bloctel register.")
    return allow(
        "Before 2026-08-11 French consumers may be called unless on Bloctel; the number was screened and is not.",
        Basis.NATIONAL_OPT_OUT_REGIME,
        actions=("offer_objection_in_call", "show_caller_id"),
    )


def _business_call(s: Situation, channel: Channel) -> Outcome | None:
    return allow(
        "Calls to French professionals fall outside the consumer code and rest on legitimate interest; offer the"
        " right to object.",
        Basis.LEGITIMATE_INTEREST,
        actions=("offer_objection_in_call", "show_caller_id"),
    )


def _named_pro_address(s: Situation, channel: Channel) -> Outcome | None:
    if s.natural_person and s.facts.entity_type is EntityType.CONSUMER:
        return None
    if s.facts.email.kind is not EmailKind.NAMED_BUSINESS:
        return None
    return allow(
        "A named professional address may get offers related to the person's job in France, if they were told at"
        " collection and can object in every message.",
        Basis.LEGITIMATE_INTEREST,
        actions=("unsubscribe_link",),
    )


def _generic_pro_address(s: Situation, channel: Channel) -> Outcome | None:
    if s.facts.entity_type is not EntityType.BUSINESS or s.facts.email.kind is not EmailKind.ROLE_GENERIC:
        return None
    return allow(
        "A generic company address (contact@) is outside the French opt-in rule.",
        Basis.NO_CONSENT_NEEDED_LEGAL_PERSON,
        actions=("unsubscribe_link",),
    )


def _email_needs_consent(s: Situation, channel: Channel) -> Outcome | None:
    return deny("French law requires prior consent for marketing e-mail to this person; none is recorded.")


PHONE: tuple[Rule, ...] = (
    Rule(
        RuleInfo(
            "F3",
            "FR_CONSUMER_CALL_OPTIN",
            "phone",
            "FR",
            "C. consom. L223-1, L221-16 (Loi 2025-594)",
            "From 2026-08-11 consumers are called only with consent or about an ongoing contract.",
            effective_from=CONSUMER_CALL_OPTIN,
        ),
        _consumer_call_optin,
    ),
    Rule(
        RuleInfo(
            "F4",
            "FR_BLOCTEL",
            "phone",
            "FR",
            "C. consom. L223-1 (text before 2026-08-11)",
            "Until 2026-08-10 consumers may be called unless on Bloctel (screened in the last 30 days).",
            effective_until=date(2026, 8, 10),
        ),
        _bloctel,
    ),
    Rule(
        RuleInfo(
            "F5",
            "legitimate_interest",
            "phone",
            "FR",
            "GDPR 6(1)(f), 21",
            "Professionals may be called on legitimate interest (then L1).",
        ),
        _business_call,
    ),
)

EMAIL: tuple[Rule, ...] = (
    Rule(
        RuleInfo(
            "F1",
            "national_b2b_exception",
            "email",
            "FR",
            "CNIL; CPCE L34-5",
            "A named professional address may get job-related offers (then L1).",
        ),
        _named_pro_address,
    ),
    Rule(
        RuleInfo(
            "F2",
            "outside_L34-5",
            "email",
            "FR",
            "CNIL",
            "A generic company address is outside the opt-in rule.",
        ),
        _generic_pro_address,
    ),
    Rule(
        RuleInfo(
            "F0",
            "FR_EMAIL_OPTIN",
            "email",
            "FR",
            "CPCE L34-5",
            "Every other marketing e-mail needs consent or the soft opt-in.",
        ),
        _email_needs_consent,
    ),
)
