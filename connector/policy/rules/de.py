"""Germany: UWG §7 and §7a. No register; consumers need express consent, businesses presumed consent."""

from __future__ import annotations

from connector.models import Basis, EntityType, SourceKind
from connector.policy.rule import Channel, Outcome, Rule, RuleInfo, allow, deny
from connector.policy.situation import Situation

__all__ = ["EMAIL", "PHONE"]

_SPECIFIC_INTEREST = frozenset({SourceKind.WEB_FORM_OPTIN, SourceKind.EVENT_OPTIN})
"""An inquiry or a call request of the person's own. Being a customer counts only through ``customer`` facts,
which must show our own company and a related offer (§9.7)."""


def _email_needs_consent(s: Situation, channel: Channel) -> Outcome | None:
    return deny(
        "German law requires express consent for marketing e-mail, business and generic addresses included;"
        " none is recorded."
    )


def _consumer_call(s: Situation, channel: Channel) -> Outcome | None:
    if s.facts.entity_type is not EntityType.CONSUMER:
        return None
    return deny("Calling a consumer in Germany needs express, documented consent; none is recorded.")


def _presumed_consent(s: Situation, channel: Channel) -> Outcome | None:
    c = s.customer
    customer = c is not None and c.paid and c.same_entity and c.similar_offer
    if not (customer or not s.kinds.isdisjoint(_SPECIFIC_INTEREST)):
        return None
    return allow(
        "A business contact with a concrete interest (a customer, an inquiry or a call request at an event) may be"
        " called on presumed consent [uncertain: courts judge each case].",
        Basis.LEGITIMATE_INTEREST,
        review=True,
        actions=("offer_objection_in_call", "show_caller_id"),
    )


def _no_presumed_consent(s: Situation, channel: Channel) -> Outcome | None:
    return deny(
        "A business contact without a concrete interest of their own (bought, LinkedIn or registry data) may not be"
        " called in Germany."
    )


PHONE: tuple[Rule, ...] = (
    Rule(
        RuleInfo(
            "D2",
            "DE_CONSUMER_CALL_CONSENT",
            "phone",
            "DE",
            "UWG 7(2) Nr. 1, 7a",
            "Consumers need express, documented consent for calls.",
        ),
        _consumer_call,
    ),
    Rule(
        RuleInfo(
            "D3",
            "presumed_consent",
            "phone",
            "DE",
            "UWG 7(2) Nr. 1",
            "Businesses and sole traders with a concrete interest may be called on presumed consent.",
        ),
        _presumed_consent,
    ),
    Rule(
        RuleInfo(
            "D4",
            "DE_NO_PRESUMED_CONSENT",
            "phone",
            "DE",
            "BGH I ZR 191/03",
            "Other business contacts (purchased, LinkedIn, registry) may not be called.",
        ),
        _no_presumed_consent,
    ),
)

EMAIL: tuple[Rule, ...] = (
    Rule(
        RuleInfo(
            "D1",
            "DE_EMAIL_EXPRESS_CONSENT",
            "email",
            "DE",
            "UWG 7(2) Nr. 2",
            "Marketing e-mail needs express consent unless the §7(3) customer rule applies.",
        ),
        _email_needs_consent,
    ),
)
