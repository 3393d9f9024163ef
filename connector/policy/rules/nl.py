"""Netherlands: Telecommunicatiewet art. 11.7 (2021 text, as amended from 2026-07-01) read with the GDPR."""

from __future__ import annotations

from datetime import date

from connector.models import Basis, CallTarget, EntityType, SourceKind
from connector.policy.rule import Channel, Outcome, Rule, RuleInfo, allow, deny
from connector.policy.situation import Situation

__all__ = ["CUSTOMER_CALL_MONTHS", "EMAIL", "PHONE"]

CUSTOMER_CALLS_END = date(2026, 7, 1)
_LAST_CUSTOMER_CALL_DAY = date(2026, 6, 30)
CUSTOMER_CALL_MONTHS = 36
"""The Code Telemarketing's three years for calls to customers (N3, N9)."""


def _natural_person(s: Situation) -> bool:
    return s.natural_person or s.facts.call_target is CallTarget.PRIVATE_MOBILE


def _customer_call_conditions(s: Situation) -> bool:
    """A paying customer of ours, told at collection, similar offer, within three calendar years (§9.2)."""
    c = s.customer
    if c is None or not (c.paid and c.same_entity and c.informed_at_collection and c.similar_offer):
        return False
    return bool(s.customer_within(CUSTOMER_CALL_MONTHS))


def _customer_exception(s: Situation, channel: Channel) -> Outcome | None:
    if not (_natural_person(s) and _customer_call_conditions(s)):
        return None
    return allow(
        "A customer of ours (paid sale, told they could object) may be called about similar products for up to"
        " three years after the last sale; offer the right to object in the call.",
        Basis.SOFT_OPT_IN,
        actions=("offer_objection_in_call", "show_caller_id"),
    )


def _charity_customer_exception(s: Situation, channel: Channel) -> Outcome | None:
    if not s.settings.sender_is_charity_or_publisher:
        return None
    return _customer_exception(s, channel)


def _customer_exception_ended(s: Situation, channel: Channel) -> Outcome | None:
    if s.settings.sender_is_charity_or_publisher or not _natural_person(s) or s.customer is None:
        return None
    return deny(
        "Since 2026-07-01 Dutch law no longer lets customers who are natural persons be called without their"
        " consent [uncertain: consolidated text not yet seen]."
    )


def _natural_person_needs_optin(s: Situation, channel: Channel) -> Outcome | None:
    if not _natural_person(s):
        return None
    who = (
        "a private mobile number" if s.facts.call_target is CallTarget.PRIVATE_MOBILE else "a natural person"
    )
    return deny(f"Calling {who} in the Netherlands needs prior consent; none is recorded.")


def _switchboard_role(s: Situation, channel: Channel) -> Outcome | None:
    if (
        s.facts.entity_type is not EntityType.BUSINESS
        or s.facts.call_target is not CallTarget.GENERAL_NUMBER_ROLE
    ):
        return None
    return allow(
        "A call to a company's general number asking for a role needs no consent under Dutch law; honour any"
        " objection.",
        Basis.NO_CONSENT_NEEDED_LEGAL_PERSON,
        actions=("offer_objection_in_call", "show_caller_id"),
    )


def _named_first_party(s: Situation, channel: Channel) -> Outcome | None:
    if s.facts.entity_type is not EntityType.BUSINESS or not s.first_party:
        return None
    return allow(
        "A named person at a company who came to us first-hand may be called on legitimate interest; offer the"
        " right to object in the call.",
        Basis.LEGITIMATE_INTEREST,
        actions=("offer_objection_in_call", "show_caller_id"),
    )


def _named_indirect(s: Situation, channel: Channel) -> Outcome | None:
    if s.facts.entity_type is not EntityType.BUSINESS:
        return None
    return allow(
        "A named person at a company, from an indirect source: a call would rest on legitimate interest, subject to L1.",
        Basis.LEGITIMATE_INTEREST,
        actions=("offer_objection_in_call", "show_caller_id"),
    )


def _published_address(s: Situation, channel: Channel) -> Outcome | None:
    if not s.facts.email.published_for_offers or s.facts.entity_type is EntityType.CONSUMER:
        return None
    return allow(
        "The company published this address for commercial offers, so it may be used for that purpose.",
        Basis.PUBLISHED_B2B_ADDRESS,
        actions=("unsubscribe_link",),
    )


def _email_optin_required(s: Situation, channel: Channel) -> Outcome | None:
    acquaintance = SourceKind.PERSONAL_ACQUAINTANCE in s.kinds
    text = "Dutch law requires prior consent for marketing e-mail, business addresses included; none is recorded."
    if acquaintance:
        text += " A personal acquaintance may still be written to personally, not with marketing e-mail."
    return deny(text, review=acquaintance)


PHONE: tuple[Rule, ...] = (
    Rule(
        RuleInfo(
            "N3",
            "customer_exception_until_2026",
            "phone",
            "NL",
            "Tw 11.7(4); Code Telemarketing",
            "Natural persons who are customers may be called for similar products, up to 3 years after the"
            " last sale; until 2026-06-30 (after it only charities and publishers, N9).",
            effective_until=_LAST_CUSTOMER_CALL_DAY,
        ),
        _customer_exception,
    ),
    Rule(
        RuleInfo(
            "N9",
            "customer_exception_charity_publisher",
            "phone",
            "NL",
            "Tw 11.7 as amended by Energiewet am. 85/86 (exception for charities and publishers)",
            "From 2026-07-01 only charities, charity lotteries and publishers keep the customer exception for"
            " calls.",
            effective_from=CUSTOMER_CALLS_END,
        ),
        _charity_customer_exception,
    ),
    Rule(
        RuleInfo(
            "N4",
            "NL_CUSTOMER_EXCEPTION_ENDED",
            "phone",
            "NL",
            "Tw 11.7 as amended by Energiewet am. 85/86 (from 2026-07-01)",
            "From 2026-07-01 customers who are natural persons need consent to be called (not charities or"
            " publishers).",
            effective_from=CUSTOMER_CALLS_END,
        ),
        _customer_exception_ended,
    ),
    Rule(
        RuleInfo(
            "N5",
            "NL_CALL_OPTIN_NATURAL_PERSON",
            "phone",
            "NL",
            "Tw 11.7(2)",
            "Consumers, sole traders and private mobiles need prior consent for sales calls.",
        ),
        _natural_person_needs_optin,
    ),
    Rule(
        RuleInfo(
            "N6",
            "tw_no_consent_for_legal_person",
            "phone",
            "NL",
            "Tw 11.7(2) a contrario; DDMA/ACM",
            "Calling a company's general number for a role needs no consent.",
        ),
        _switchboard_role,
    ),
    Rule(
        RuleInfo(
            "N7",
            "legitimate_interest",
            "phone",
            "NL",
            "GDPR 6(1)(f), 13, 21",
            "A named person at a company from a first-party source may be called on legitimate interest.",
        ),
        _named_first_party,
    ),
    Rule(
        RuleInfo(
            "N8",
            "legitimate_interest",
            "phone",
            "NL",
            "GDPR 6(1)(f), 14",
            "A named person at a company from an indirect source: legitimate interest, then L1.",
        ),
        _named_indirect,
    ),
)

EMAIL: tuple[Rule, ...] = (
    Rule(
        RuleInfo(
            "N1",
            "published_b2b_address",
            "email",
            "NL",
            "Tw 11.7(3)(a)",
            "A business address designated and published for offers may be mailed for that purpose.",
        ),
        _published_address,
    ),
    Rule(
        RuleInfo(
            "N2",
            "NL_EMAIL_OPTIN_REQUIRED",
            "email",
            "NL",
            "Tw 11.7(1)",
            "Every other marketing e-mail, business included, needs prior consent.",
        ),
        _email_optin_required,
    ),
)
