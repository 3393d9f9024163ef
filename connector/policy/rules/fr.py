"""France: CPCE L34-5 for e-mail; Code de la consommation L223-1 for calls (Loi 2025-594 from 2026-08-11)."""

from __future__ import annotations

from datetime import date

from connector.models import Basis, EmailKind, EntityType, RegisterList
from connector.policy.rule import Channel, Outcome, Rule, RuleInfo, allow, deny
from connector.policy.rules.registers import unchecked_register
from connector.policy.situation import Situation

__all__ = ["EMAIL", "PHONE", "ongoing_contract_with_us"]

CONSUMER_CALL_OPTIN = date(2026, 8, 11)


def ongoing_contract_with_us(s: Situation) -> bool:
    """L223-1's exception: a contract in progress with the caller itself (§9.6): our own paid sale made on or
    before today, not ended by today, and an offer directly linked to it."""
    c = s.facts.customer
    return (
        c is not None
        and c.paid
        and c.same_entity
        and c.similar_offer
        and c.last_sale is not None
        and c.last_sale <= s.now
        and (c.relationship_end is None or c.relationship_end > s.now)
    )


def _consumer(s: Situation) -> bool:
    """L223-1 protects consumers only; a sole trader called about their business is a professional (§9.6)."""
    return s.facts.entity_type is EntityType.CONSUMER


def _contract_call(text: str) -> Outcome:
    """L223-1's contract exception, under the Bloctel regime and the opt-in regime alike."""
    return allow(text, Basis.SOFT_OPT_IN, actions=("offer_objection_in_call", "show_caller_id"))


def _consumer_call_optin(s: Situation, channel: Channel) -> Outcome | None:
    if not _consumer(s):
        return None
    if ongoing_contract_with_us(s):
        return _contract_call(
            "Since 2026-08-11 a French consumer may be called without consent only about an offer directly linked"
            " to an ongoing contract, which is the case here."
        )
    return deny(
        "Since 2026-08-11 calling a French consumer needs prior consent, unless the offer is linked to an ongoing"
        " contract; neither is recorded."
    )


def _bloctel(s: Situation, channel: Channel) -> Outcome | None:
    if not _consumer(s):
        return None
    if ongoing_contract_with_us(s):
        return _contract_call(
            "A French consumer with an ongoing contract with us may be called about an offer linked to it, Bloctel"
            " or not."
        )
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


def _named_pro(s: Situation) -> bool:
    return s.facts.entity_type is not EntityType.CONSUMER and s.facts.email.kind is EmailKind.NAMED_BUSINESS


def _named_pro_address(s: Situation, channel: Channel) -> Outcome | None:
    if not (_named_pro(s) and s.first_party):  # informed at collection: only first-hand data (§9.6)
        return None
    return allow(
        "A named professional address may get offers related to the person's job in France, if they were told at"
        " collection and can object in every message.",
        Basis.LEGITIMATE_INTEREST,
        actions=("unsubscribe_link",),
    )


def _pro_not_informed(s: Situation, channel: Channel) -> Outcome | None:
    if not _named_pro(s):
        return None
    return deny(
        "A named professional address from an indirect source only: the person was not informed when their data"
        " was collected, so the French professional exception does not apply."
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
            "Until 2026-08-10 consumers may be called unless on Bloctel (screened in the last 30 days), or"
            " always about an ongoing contract with us.",
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
            "Professionals, sole traders included, may be called on legitimate interest (then L1).",
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
            "F6",
            "FR_PRO_NOT_INFORMED",
            "email",
            "FR",
            "CPCE L34-5; CNIL",
            "A named professional address from indirect sources only was not informed at collection: no e-mail.",
        ),
        _pro_not_informed,
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
