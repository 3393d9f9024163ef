"""Rules that hold in every jurisdiction with a pack: gates (G), consent (C), soft opt-in (S), the LIA check (L1).

Source: lawful-use-rules.md §4.3 and the implementer notes of §8.
"""

from __future__ import annotations

from connector.models import Basis, EmailKind, EntityType, Profile, RegisterList, SourceKind
from connector.policy.rule import Channel, Outcome, PostRule, Rule, RuleInfo, allow, deny, note
from connector.policy.rules.packs import PACK_COUNTRIES
from connector.policy.situation import ConsentStatus, Situation

__all__ = ["CONSENT_RULES", "GATES", "L1", "SOFT_OPT_IN_RULES", "soft_opt_in_conditions_met"]


def _objection(s: Situation, channel: Channel) -> Outcome | None:
    objected = s.facts.objection
    if objected is None or s.consent_after(channel, objected):
        return None
    return deny(f"The person objected to direct marketing on {objected}; that objection is absolute.")


def _email_optout(s: Situation, channel: Channel) -> Outcome | None:
    opted_out = s.facts.optout_email
    if channel != "email" or opted_out is None or s.consent_after("email", opted_out):
        return None
    return deny(f"The person unsubscribed from marketing e-mail on {opted_out}.")


def _phone_optout(s: Situation, channel: Channel) -> Outcome | None:
    if channel != "phone":
        return None
    opted_out = s.facts.optout_phone
    if opted_out is not None and not s.consent_after("phone", opted_out):
        return deny(f"The person asked not to be called on {opted_out}.")
    own = s.screening(RegisterList.OWN) if s.facts.dnc else None
    if own is not None and own.listed and not (own.since and s.consent_after("phone", own.since)):
        return deny("The number is on our own do-not-call suppression list.")
    return None


def _insufficient_data(s: Situation, channel: Channel) -> Outcome | None:
    if s.facts.country is None:
        return deny("The contact's country is unknown, so no national rule can be applied.", review=True)
    if s.facts.entity_type is EntityType.UNKNOWN:
        return deny("It is unknown whether the contact is a consumer, sole trader or company.", review=True)
    return None


def _provenance_unknown(s: Situation, channel: Channel) -> Outcome | None:
    if s.kinds and s.kinds != _ONLY_UNKNOWN:
        return None
    return deny(
        "Where this contact's data came from is not recorded, so its use cannot be shown lawful.", review=True
    )


def _foreign_law(s: Situation, channel: Channel) -> Outcome | None:
    if s.facts.country in PACK_COUNTRIES:
        return None
    return deny(
        f"No rule pack covers contacts in {s.facts.country}; a person must check that country's law.",
        review=True,
    )


_TOOL_OR_UNKNOWN = frozenset({SourceKind.LINKEDIN_TOOL, SourceKind.UNKNOWN})
_ONLY_UNKNOWN = frozenset({SourceKind.UNKNOWN})


def _scraped_source(s: Situation, channel: Channel) -> Outcome | None:
    if SourceKind.LINKEDIN_TOOL not in s.kinds or (s.kinds - _TOOL_OR_UNKNOWN):
        return None
    if s.consent(channel) is ConsentStatus.FRESH:  # per channel (§9.4): an e-mail consent opens no call
        return None
    return deny(
        "The only source is a scraper or enrichment tool, which data-protection authorities treat as almost"
        " always unlawful; only the person's own consent for this channel opens it.",
        review=True,
    )


def _no_email_address(s: Situation, channel: Channel) -> Outcome | None:
    if channel != "email" or s.facts.email.kind is not EmailKind.NONE:
        return None
    return deny("There is no e-mail address to write to.")


def _data_issue(s: Situation, channel: Channel) -> Outcome | None:
    if not s.facts.issues:
        return None
    codes = sorted({i.code for i in s.facts.issues if i.channel in (channel, "both")})
    if not codes:
        return None
    return deny(f"The CRM record needs fixing before this channel is used: {', '.join(codes)}.", review=True)


GATES: tuple[Rule, ...] = (
    Rule(
        RuleInfo(
            "G1",
            "OBJECTION_ART21",
            "both",
            "*",
            "GDPR 21(2)-(3)",
            "An objection to direct marketing, not followed by a new consent, stops all calls and e-mail.",
            citations={
                "NL": "GDPR 21(2)-(3); Tw 11.7 (recht van verzet)",
                "DE": "GDPR 21(2)-(3); UWG 7(1)",
                "BE": "GDPR 21(2)-(3); WER VI.110",
                "FR": "GDPR 21(2)-(3); C. consom. L223-1",
                "GB": "UK GDPR 21(2)-(3); PECR 21(1)(a)",
            },
        ),
        _objection,
    ),
    Rule(
        RuleInfo(
            "G2",
            "UNSUBSCRIBED",
            "email",
            "*",
            "ePD 13(2); GDPR 7(3)",
            "An e-mail opt-out, not followed by a new e-mail consent, stops marketing e-mail.",
            citations={
                "NL": "ePD 13(2); Tw 11.7(4); GDPR 7(3)",
                "DE": "GDPR 7(3), 21(3); UWG 7(3) Nr. 4",
                "BE": "GDPR 7(3); WER XII.13",
                "FR": "GDPR 7(3); CPCE L34-5",
                "GB": "UK GDPR 7(3), 21(3); PECR 22(3)",
            },
        ),
        _email_optout,
    ),
    Rule(
        RuleInfo(
            "G3",
            "PHONE_OBJECTION",
            "phone",
            "*",
            "GDPR 21(3); ePD 13(3)",
            "A request not to be called, or our own suppression list, stops sales calls.",
            citations={
                "NL": "Tw 11.7 (recht van verzet); GDPR 21(3)",
                "DE": "GDPR 21(3); UWG 7(1)",
                "BE": "GDPR 21(3); WER VI.110",
                "FR": "GDPR 21(3); C. consom. L223-1",
                "GB": "PECR 21(1)(a); UK GDPR 21(3)",
            },
        ),
        _phone_optout,
    ),
    Rule(
        RuleInfo(
            "G4",
            "INSUFFICIENT_DATA",
            "both",
            "*",
            "GDPR 5(2)",
            "Unknown country or entity type: nothing is allowed until a person completes the record.",
            citations={
                "GB": "UK GDPR 5(2)",
            },
        ),
        _insufficient_data,
    ),
    Rule(
        RuleInfo(
            "G5",
            "PROVENANCE_UNKNOWN",
            "both",
            "*",
            "GDPR 5(2), 14(2)(f)",
            "No recorded source: nothing is allowed until the provenance is known.",
            citations={
                "GB": "UK GDPR 5(2), 14(2)(f)",
            },
        ),
        _provenance_unknown,
    ),
    Rule(
        RuleInfo(
            "G6",
            "FOREIGN_LAW",
            "both",
            "*",
            "GDPR 3, 5(2)",
            "A country without a rule pack: nothing is allowed until a person reviews it.",
        ),
        _foreign_law,
    ),
    Rule(
        RuleInfo(
            "G7",
            "SCRAPED_SOURCE",
            "both",
            "*",
            "GDPR 6(1)(f), 14; EDPB 1/2024",
            "Data that only came from a scraper or enrichment tool is not used without our own consent.",
            citations={
                "NL": "GDPR 6(1)(f), 14; AP Handreiking scraping 2024",
                "DE": "GDPR 6(1)(f), 14; EDPB 1/2024",
                "BE": "GDPR 6(1)(f), 14; EDPB 1/2024",
                "FR": "GDPR 6(1)(f), 14; CNIL SAN-2024-020",
                "GB": "UK GDPR 6(1)(f), 14; ICO legitimate interests guidance",
            },
        ),
        _scraped_source,
    ),
    Rule(
        RuleInfo(
            "G8",
            "DATA_ISSUE",
            "both",
            "*",
            "GDPR 5(1)(d), 5(2)",
            "Invalid or unmapped data for a channel (phone, e-mail, picklist value) closes it until fixed.",
            citations={
                "GB": "UK GDPR 5(1)(d), 5(2)",
            },
        ),
        _data_issue,
    ),
    Rule(
        RuleInfo(
            "G9",
            "NO_EMAIL_ADDRESS",
            "email",
            "*",
            "—",
            "No e-mail address: marketing e-mail is not possible.",
        ),
        _no_email_address,
    ),
)


_CONSENT_ACTIONS: dict[str, tuple[str, ...]] = {"email": ("unsubscribe_link",), "phone": ("show_caller_id",)}


def _fresh_consent(s: Situation, channel: Channel) -> Outcome | None:
    if s.consent(channel) is not ConsentStatus.FRESH:
        return None
    return allow(
        f"The person gave us a specific {_channel_word(channel)} consent that is still in use.",
        Basis.CONSENT,
        actions=_CONSENT_ACTIONS[channel],
    )


def _stale_consent(s: Situation, channel: Channel) -> Outcome | None:
    if s.consent(channel) is not ConsentStatus.STALE:
        return None
    months = s.settings.consent_max_idle_months
    if s.settings.profile is Profile.LEGAL_MINIMUM:
        return allow(
            f"The {_channel_word(channel)} consent has been idle for over {months} months; courts disagree whether"
            " it lapsed [contested], so it is used and should be refreshed.",
            Basis.CONSENT,
            actions=(*_CONSENT_ACTIONS[channel], "refresh_consent"),
        )
    return deny(
        f"The {_channel_word(channel)} consent has been idle for over {months} months; courts disagree whether it"
        " lapsed [contested], so it is not relied on until refreshed.",
        review=True,
        actions=("refresh_consent",),
    )


def _invalid_consent(s: Situation, channel: Channel) -> Outcome | None:
    if s.consent(channel) is not ConsentStatus.INVALID:
        return None
    return note(
        f"The recorded {_channel_word(channel)} consent is not valid (bundled, pre-ticked, not naming us, or dated"
        " in the future), so it counts as no consent.",
        review=True,
    )


CONSENT_RULES: tuple[Rule, ...] = (
    Rule(
        RuleInfo(
            "C1",
            "CONSENT",
            "both",
            "*",
            "GDPR 6(1)(a), 7(1); ePD 13(1)",
            "A valid, specific consent for this channel and our company allows it, even over a register.",
            citations={
                "NL": "GDPR 6(1)(a), 7(1); Tw 11.7(1)",
                "DE": "GDPR 6(1)(a), 7(1); UWG 7(2), 7a",
                "BE": "GDPR 6(1)(a), 7(1); WER XII.13, VI.110",
                "FR": "GDPR 6(1)(a), 7(1); CPCE L34-5; C. consom. L223-1",
                "GB": "UK GDPR 6(1)(a), 7(1); PECR 21(4), 22(2)",
            },
        ),
        _fresh_consent,
    ),
    Rule(
        RuleInfo(
            "C2",
            "CONSENT_STALE",
            "both",
            "*",
            "GDPR 7(1); EDPB 05/2020",
            "A consent idle longer than the configured months: used only under legal_minimum.",
            contested=True,
            citations={
                "NL": "GDPR 7(1); EDPB 05/2020",
                "DE": "GDPR 7(1); EDPB 05/2020; BGH III ZR 196/17 vs AG München 2023",
                "BE": "GDPR 7(1); EDPB 05/2020",
                "FR": "GDPR 7(1); EDPB 05/2020",
                "GB": "UK GDPR 7(1); ICO consent guidance",
            },
        ),
        _stale_consent,
    ),
    Rule(
        RuleInfo(
            "C3",
            "CONSENT_INVALID",
            "both",
            "*",
            "GDPR 4(11), 7(4)",
            "A bundled, pre-ticked or 'partners' consent counts as no consent.",
            citations={
                "NL": "GDPR 4(11), 7(4); ACM/OPTA",
                "DE": "GDPR 4(11), 7(4); UWG 7(2)",
                "BE": "GDPR 4(11), 7(4)",
                "FR": "GDPR 4(11), 7(4)",
                "GB": "UK GDPR 4(11), 7(4); PECR 22(2)",
            },
        ),
        _invalid_consent,
    ),
)


def soft_opt_in_conditions_met(s: Situation) -> bool:
    """Every condition of the soft opt-in. In the UK details obtained in negotiations for a sale qualify too
    (PECR 22(3), §9.5), so an unpaid quote or enquiry counts there."""
    c = s.customer
    paid = c is not None and (c.paid or s.facts.country == "GB")
    return (
        c is not None
        and paid
        and all((c.same_entity, c.informed_at_collection, c.optout_in_every_message, c.similar_offer))
    )


def _soft_opt_in(s: Situation, channel: Channel) -> Outcome | None:
    if not soft_opt_in_conditions_met(s) or not s.customer_within(s.settings.soft_opt_in_max_months):
        return None
    return allow(
        "A paying customer of ours, told at the sale they could object, with an opt-out in every message, may get"
        " e-mail about similar products.",
        Basis.SOFT_OPT_IN,
        actions=("unsubscribe_link",),
    )


def _soft_opt_in_aged(s: Situation, channel: Channel) -> Outcome | None:
    if not soft_opt_in_conditions_met(s):
        return None
    within = s.customer_within(s.settings.soft_opt_in_max_months)
    if within is None:
        return note(
            "The customer relationship has no sale or end date, so the soft opt-in cannot be dated.",
            review=True,
        )
    if within:
        return None
    return note(
        f"The last sale or end of the relationship is over {s.settings.soft_opt_in_max_months} months ago, so the"
        " soft opt-in is no longer relied on [uncertain: no statutory term].",
        review=True,
    )


def _soft_opt_in_unmet(s: Situation, channel: Channel) -> Outcome | None:
    if s.facts.customer is None or soft_opt_in_conditions_met(s):
        return None
    if s.customer is None:
        return note(
            "The recorded sale or end of the relationship lies after today, so it is no customer yet."
        )
    return note(
        "A customer, but the soft opt-in conditions are not met (paid sale, same company, told at collection,"
        " opt-out in every message, similar offer)."
    )


SOFT_OPT_IN_RULES: tuple[Rule, ...] = (
    Rule(
        RuleInfo(
            "S1",
            "SOFT_OPT_IN",
            "email",
            "*",
            "ePD 13(2)",
            "Customers may be e-mailed about our similar products if every soft opt-in condition holds.",
            citations={
                "NL": "ePD 13(2); Tw 11.7(4)",
                "DE": "ePD 13(2); UWG 7(3)",
                "BE": "ePD 13(2); KB 4 Apr 2003 art. 1",
                "FR": "ePD 13(2); CPCE L34-5",
                "GB": "PECR 22(3)",
            },
        ),
        _soft_opt_in,
    ),
    Rule(
        RuleInfo(
            "S2",
            "SOFT_OPTIN_AGED",
            "email",
            "*",
            "ePD 13(2) (no statutory term; policy setting)",
            "A soft opt-in older than the configured months is not relied on.",
            citations={
                "NL": "Tw 11.7(4) (no statutory term); Code Telemarketing by analogy",
                "DE": "UWG 7(3) (no statutory term; policy setting)",
                "BE": "KB 4 Apr 2003 art. 1 (no statutory term; policy setting)",
                "FR": "CPCE L34-5 (no statutory term; policy setting)",
                "GB": "PECR 22(3) (no statutory term; policy setting)",
            },
        ),
        _soft_opt_in_aged,
    ),
    Rule(
        RuleInfo(
            "S3",
            "SOFT_OPTIN_CONDITIONS_UNMET",
            "email",
            "*",
            "ePD 13(2)",
            "A customer whose soft opt-in conditions are unmet gets no marketing e-mail on that basis.",
            citations={
                "NL": "Tw 11.7(4); ACM",
                "DE": "UWG 7(3)",
                "BE": "KB 4 Apr 2003 art. 1",
                "FR": "CPCE L34-5",
                "GB": "PECR 22(3)",
            },
        ),
        _soft_opt_in_unmet,
    ),
)

_LI_BASES = frozenset(
    {Basis.LEGITIMATE_INTEREST, Basis.NATIONAL_OPT_OUT_REGIME, Basis.NO_CONSENT_NEEDED_LEGAL_PERSON}
)


def _unassessed_interest(s: Situation, channel: Channel, verdict: Outcome) -> Outcome | None:
    if verdict.basis not in _LI_BASES or s.first_party or not s.named_person(channel):
        return None
    word = "call" if channel == "phone" else "e-mail"
    if s.facts.lia_ref is not None:
        return note(
            f"The {word} to a named person from an indirect source is covered by a documented legitimate-interest"
            " assessment; the person must get an Art. 14 notice.",
            actions=("art14_notice",),
        )
    if s.settings.profile is Profile.LEGAL_MINIMUM:
        return Outcome(
            allowed=True,
            basis=verdict.basis,
            text=f"The {word} to a named person from an indirect source rests on legitimate interest without a"
            " documented assessment [contested]; allowed with an Art. 14 notice at first contact.",
            actions=("art14_notice",),
        )
    return deny(
        f"The {word} to a named person from an indirect source would rest on legitimate interest, but no"
        " assessment is documented [contested]; not allowed until one is.",
        review=True,
        actions=("art14_notice",),
    )


L1 = PostRule(
    RuleInfo(
        "L1",
        "LI_UNASSESSED",
        "both",
        "*",
        "GDPR 5(1)(b), 6(4), 6(1)(f), 14; C-621/22",
        "Named persons from indirect sources are contacted on legitimate interest only with a documented"
        " assessment (conservative) or with an Art. 14 notice (legal_minimum).",
        contested=True,
        citations={
            "NL": "GDPR 5(1)(b), 6(4), 6(1)(f), 14; AP 2024; C-621/22",
            "GB": "UK GDPR 5(1)(b), 6(4), 6(1)(f), 14; ICO legitimate interests guidance",
        },
    ),
    _unassessed_interest,
)


def _channel_word(channel: Channel) -> str:
    return "telephone" if channel == "phone" else "e-mail"
