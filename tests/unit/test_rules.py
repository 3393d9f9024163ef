"""One row per rule: the facts that trigger it, and what it decides.

Each row starts from the neutral contact of ``tests.conftest.facts`` (NL business, own web form, named) and
changes only what the rule looks at.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from connector.models import Decision, Profile
from connector.policy import CATALOGUE, RULESET_VERSION, PolicySettings, evaluate
from tests.conftest import NOW, facts

CONSERVATIVE = PolicySettings()
LEGAL_MINIMUM = PolicySettings(profile=Profile.LEGAL_MINIMUM)
CUSTOMER = {
    "paid": True,
    "same_entity": True,
    "last_sale": "2025-06-01",
    "informed_at_collection": True,
    "optout_in_every_message": True,
}
EMAIL_CONSENT = {"channel": "email", "date": "2026-05-01"}
PHONE_CONSENT = {"channel": "phone", "date": "2026-05-01"}


def decide(now: date = NOW, settings: PolicySettings = CONSERVATIVE, **fields: Any) -> Decision:
    return evaluate(facts(**fields), now=now, settings=settings)


def rules_of(decision: Decision, channel: str) -> list[str]:
    return [r.rule for r in decision.reasons if r.channel in (channel, "both")]


# (rule, channel, facts, expected permission on that channel)
ROWS: list[tuple[str, str, dict[str, Any], bool]] = [
    ("G1", "phone", {"objection": "2026-01-01", "consents": [PHONE_CONSENT | {"date": "2025-12-01"}]}, False),
    ("G2", "email", {"optout_email": "2026-06-01", "consents": [EMAIL_CONSENT]}, False),
    ("G3", "phone", {"optout_phone": "2026-06-01"}, False),
    ("G3", "phone", {"dnc": [{"list": "OWN", "listed": True, "checked": "2026-11-01"}]}, False),
    ("G4", "email", {"entity_type": "unknown", "consents": [EMAIL_CONSENT]}, False),
    ("G5", "phone", {"sources": [{"kind": "unknown"}]}, False),
    ("G6", "email", {"country": "US", "consents": [EMAIL_CONSENT]}, False),
    ("G7", "phone", {"sources": [{"kind": "linkedin_tool"}]}, False),
    ("G9", "email", {"email": {"kind": "none"}, "consents": [EMAIL_CONSENT]}, False),
    ("G8", "phone", {"issues": [{"channel": "phone", "code": "invalid_phone"}]}, False),
    ("C1", "email", {"consents": [EMAIL_CONSENT]}, True),
    ("C1", "phone", {"entity_type": "consumer", "consents": [PHONE_CONSENT]}, True),
    ("C2", "email", {"consents": [{"channel": "email", "date": "2022-01-01"}]}, False),
    ("C3", "email", {"consents": [EMAIL_CONSENT | {"specific": False}]}, False),
    ("S1", "email", {"customer": CUSTOMER}, True),
    ("S2", "email", {"customer": CUSTOMER | {"last_sale": "2020-01-01"}}, False),
    ("S3", "email", {"customer": CUSTOMER | {"paid": False}}, False),
    ("N1", "email", {"email": {"kind": "role_generic", "published_for_offers": True}}, True),
    ("N2", "email", {}, False),
    ("N4", "phone", {"entity_type": "consumer", "customer": CUSTOMER}, False),
    ("N5", "phone", {"entity_type": "sole_trader"}, False),
    ("N5", "phone", {"call_target": "private_mobile"}, False),
    ("N6", "phone", {"call_target": "general_number_role", "sources": [{"kind": "purchased_list"}]}, True),
    ("N7", "phone", {}, True),
    ("N8", "phone", {"sources": [{"kind": "public_registry"}], "lia_ref": "LIA-1"}, True),
    ("D1", "email", {"country": "DE", "email": {"kind": "role_generic"}}, False),
    ("D2", "phone", {"country": "DE", "entity_type": "consumer"}, False),
    ("D3", "phone", {"country": "DE"}, True),
    ("D4", "phone", {"country": "DE", "sources": [{"kind": "linkedin_manual"}]}, False),
    ("B1", "email", {"country": "BE", "email": {"kind": "role_generic"}}, True),
    ("B2", "email", {"country": "BE"}, False),
    (
        "B3",
        "phone",
        {"country": "BE", "dnc": [{"list": "BE_DNCM", "listed": True, "checked": "2026-11-20"}]},
        False,
    ),
    (
        "B4",
        "phone",
        {"country": "BE", "dnc": [{"list": "BE_DNCM", "listed": False, "checked": "2026-11-20"}]},
        True,
    ),
    ("F0", "email", {"country": "FR", "entity_type": "consumer", "email": {"kind": "free_mail"}}, False),
    ("F1", "email", {"country": "FR"}, True),
    ("F2", "email", {"country": "FR", "email": {"kind": "role_generic"}}, True),
    ("F3", "phone", {"country": "FR", "entity_type": "consumer"}, False),
    ("F3", "phone", {"country": "FR", "entity_type": "consumer", "customer": CUSTOMER}, True),
    ("F5", "phone", {"country": "FR"}, True),
    ("U1", "email", {"country": "GB"}, True),
    ("U2", "email", {"country": "GB", "entity_type": "consumer"}, False),
    (
        "U3",
        "phone",
        {"country": "GB", "dnc": [{"list": "UK_CTPS", "listed": True, "checked": "2026-11-20"}]},
        False,
    ),
    (
        "U4",
        "phone",
        {"country": "GB", "dnc": [{"list": "UK_CTPS", "listed": False, "checked": "2026-11-20"}]},
        True,
    ),
    ("L1", "phone", {"sources": [{"kind": "supplier"}]}, False),
    # The corrections of December 2026 (lawful-use-rules.md §9), one row per change.
    # 9.1: a sale dated after now is no customer relationship yet.
    ("S3", "email", {"customer": CUSTOMER | {"last_sale": "2027-01-15"}}, False),
    ("N5", "phone", {"entity_type": "consumer", "customer": CUSTOMER | {"last_sale": "2027-01-15"}}, False),
    # 9.1: a screening dated after now is no screening.
    (
        "B3",
        "phone",
        {"country": "BE", "dnc": [{"list": "BE_DNCM", "listed": False, "checked": "2026-12-20"}]},
        False,
    ),
    # 9.3: a stale consent beside a soft opt-in or a generic-address exception does not close the channel.
    ("S1", "email", {"customer": CUSTOMER, "consents": [{"channel": "email", "date": "2020-01-01"}]}, True),
    (
        "B1",
        "email",
        {
            "country": "BE",
            "email": {"kind": "role_generic"},
            "consents": [{"channel": "email", "date": "2020-01-01"}],
        },
        True,
    ),
    # 9.4: G7 per channel, an e-mail consent opens only e-mail.
    ("G7", "phone", {"sources": [{"kind": "linkedin_tool"}], "consents": [EMAIL_CONSENT]}, False),
    ("C1", "email", {"sources": [{"kind": "linkedin_tool"}], "consents": [EMAIL_CONSENT]}, True),
    # 9.5: UK private mobiles follow the TPS, webmail is an individual subscriber, negotiations count.
    (
        "U3",
        "phone",
        {
            "country": "GB",
            "call_target": "private_mobile",
            "dnc": [
                {"list": "UK_CTPS", "listed": False, "checked": "2026-11-20"},
                {"list": "UK_TPS", "listed": True, "since": "2025-01-01", "checked": "2026-11-20"},
            ],
        },
        False,
    ),
    ("U2", "email", {"country": "GB", "email": {"kind": "free_mail"}}, False),
    (
        "S1",
        "email",
        {"country": "GB", "entity_type": "consumer", "customer": CUSTOMER | {"paid": False}},
        True,
    ),
    ("S3", "email", {"country": "NL", "customer": CUSTOMER | {"paid": False}}, False),
    # 9.6: France: a contract with the caller; sole traders are professionals; F1 needs first-hand data.
    (
        "F3",
        "phone",
        {"country": "FR", "entity_type": "consumer", "customer": CUSTOMER | {"same_entity": False}},
        False,
    ),
    ("F5", "phone", {"country": "FR", "entity_type": "sole_trader"}, True),
    ("F6", "email", {"country": "FR", "sources": [{"kind": "purchased_list"}]}, False),
    # 9.7: Germany: a sister company's customer has no presumed consent for our calls.
    (
        "D4",
        "phone",
        {
            "country": "DE",
            "sources": [{"kind": "existing_customer"}],
            "customer": CUSTOMER | {"same_entity": False},
        },
        False,
    ),
    (
        "D3",
        "phone",
        {"country": "DE", "sources": [{"kind": "existing_customer"}], "customer": CUSTOMER},
        True,
    ),
]


@pytest.mark.parametrize(("rule", "channel", "fields", "allowed"), ROWS, ids=[f"{r[0]}-{r[1]}" for r in ROWS])
def test_rule_decides_its_channel(rule: str, channel: str, fields: dict[str, Any], allowed: bool) -> None:
    """The rule appears among the channel's reasons and the channel gets the expected permission."""
    decision = decide(**fields)
    assert rule in rules_of(decision, channel)
    permitted = not decision.do_not_cold_call if channel == "phone" else decision.email_allowed
    assert permitted is allowed


def test_every_rule_in_the_catalogue_has_a_row_or_a_dated_test() -> None:
    """No rule ships without a test that makes it decide something."""
    covered = {row[0] for row in ROWS} | {"N3", "N9", "F4"}
    assert {info.id for info in CATALOGUE} <= covered


def test_every_rule_cites_its_source() -> None:
    """A DPO can trace every rule to a statute, a decision or guidance."""
    for info in CATALOGUE:
        assert info.citation.strip() and info.summary.strip(), info.id


def test_nl_customer_calls_switch_off_on_2026_07_01() -> None:
    """A Dutch consumer customer may be called on 2026-06-30 (N3) but not on 2026-07-01 (N4)."""
    customer = {"entity_type": "consumer", "customer": CUSTOMER}
    before = decide(now=date(2026, 6, 30), **customer)
    after = decide(now=date(2026, 7, 1), **customer)
    assert not before.do_not_cold_call and rules_of(before, "phone") == ["N3"]
    assert after.do_not_cold_call and rules_of(after, "phone") == ["N4"]
    assert "offer_objection_in_call" in before.required_actions


def test_nl_customer_call_exception_ends_three_years_after_the_last_sale() -> None:
    """Before July 2026 the customer exception holds only for three years after the relationship."""
    old = decide(
        now=date(2026, 5, 1), entity_type="consumer", customer=CUSTOMER | {"last_sale": "2022-01-01"}
    )
    assert old.do_not_cold_call and "N5" in rules_of(old, "phone")


def test_charities_and_publishers_keep_the_customer_call_exception() -> None:
    """The 2026 amendment spares charities and publishers: N9 keeps the exception for them, N4 does not apply."""
    charity = PolicySettings(sender_is_charity_or_publisher=True)
    decision = decide(settings=charity, entity_type="consumer", customer=CUSTOMER)
    assert not decision.do_not_cold_call and rules_of(decision, "phone") == ["N9"]
    before = decide(now=date(2026, 6, 30), settings=charity, entity_type="consumer", customer=CUSTOMER)
    assert not before.do_not_cold_call and rules_of(before, "phone") == ["N3"]


def test_periods_are_calendar_periods_inclusive_of_their_last_day() -> None:
    """§9.2: three years from 31 May 2023 end on 31 May 2026; 29 February + 12 months is 28 February."""
    ended = {
        "entity_type": "consumer",
        "customer": CUSTOMER | {"last_sale": "2023-05-20", "relationship_end": "2023-05-31"},
    }
    assert not decide(now=date(2026, 5, 31), **ended).do_not_cold_call
    assert decide(now=date(2026, 6, 1), **ended).do_not_cold_call
    leap = PolicySettings(consent_max_idle_months=12)
    consent = {"consents": [{"channel": "email", "date": "2024-02-29"}]}
    assert decide(now=date(2025, 2, 28), settings=leap, **consent).email_allowed
    assert not decide(now=date(2025, 3, 1), settings=leap, **consent).email_allowed
    screened = {"country": "BE", "dnc": [{"list": "BE_DNCM", "listed": False, "checked": "2026-10-29"}]}
    assert not decide(now=date(2026, 11, 28), **screened).do_not_cold_call  # day 30
    assert decide(now=date(2026, 11, 29), **screened).do_not_cold_call  # day 31: unchecked


def test_french_contract_exception_also_held_against_bloctel() -> None:
    """§9.6: before 2026-08-11 a consumer on Bloctel with an ongoing contract with us may still be called."""
    listed = [{"list": "FR_BLOCTEL", "listed": True, "since": "2019-01-01", "checked": "2026-07-01"}]
    fields = {"country": "FR", "entity_type": "consumer", "dnc": listed}
    with_contract = decide(now=date(2026, 7, 15), customer=CUSTOMER, **fields)
    without = decide(now=date(2026, 7, 15), **fields)
    assert not with_contract.do_not_cold_call and rules_of(with_contract, "phone") == ["F4"]
    assert without.do_not_cold_call


def test_reasons_cite_the_law_of_the_contacts_country() -> None:
    """A French contact's objection cites French law and the GDPR, never the Dutch Tw or the UK PECR."""
    decision = decide(country="FR", objection="2026-01-01")
    citations = " ".join(r.citation for r in decision.reasons)
    assert "C. consom." in citations and "Tw" not in citations and "PECR" not in citations


def test_french_consumer_calls_follow_bloctel_until_2026_08_10_then_need_consent() -> None:
    """F4 (Bloctel) decides before 2026-08-11 and F3 (opt-in) from that day."""
    clear = {"country": "FR", "entity_type": "consumer"}
    screened = [{"list": "FR_BLOCTEL", "listed": False, "checked": "2026-08-01"}]
    before = decide(now=date(2026, 8, 10), dnc=screened, **clear)
    after = decide(now=date(2026, 8, 11), dnc=screened, **clear)
    assert not before.do_not_cold_call and rules_of(before, "phone") == ["F4"]
    assert after.do_not_cold_call and rules_of(after, "phone") == ["F3"]


@pytest.mark.parametrize(
    ("country", "register", "entity"),
    [("BE", "BE_DNCM", "business"), ("GB", "UK_TPS", "consumer"), ("GB", "UK_CTPS", "business")],
)
def test_unscreened_or_stale_screened_numbers_are_not_called(
    country: str, register: str, entity: str
) -> None:
    """A register the rules need but no recent screening: restrictive, review, and the screening as an action."""
    stale = [{"list": register, "listed": False, "checked": "2026-09-01"}]
    for dnc in ([], stale):
        decision = decide(country=country, entity_type=entity, dnc=dnc)
        assert decision.do_not_cold_call and decision.review_needed
        assert f"screen_list:{register}" in decision.required_actions


def test_phone_consent_beats_a_register_listing() -> None:
    """A valid phone consent allows the call although the number is on TPS (PECR 21(4))."""
    listed = [{"list": "UK_TPS", "listed": True, "since": "2020-01-01", "checked": "2026-11-20"}]
    decision = decide(country="GB", entity_type="consumer", dnc=listed, consents=[PHONE_CONSENT])
    assert not decision.do_not_cold_call and decision.basis.call.value == "consent"


def test_a_fresh_tps_listing_counts_only_under_the_conservative_profile() -> None:
    """A listing younger than the 28-day grace period blocks under conservative (with review), not legal_minimum."""
    fresh = [{"list": "UK_TPS", "listed": True, "since": "2026-11-15", "checked": "2026-11-20"}]
    fields = {"country": "GB", "entity_type": "sole_trader", "dnc": fresh}
    conservative = decide(**fields)
    legal_minimum = decide(settings=LEGAL_MINIMUM, **fields)
    assert conservative.do_not_cold_call and not conservative.review_needed  # a policy choice, not contested
    assert not legal_minimum.do_not_cold_call and not legal_minimum.review_needed


def test_a_stale_consent_is_used_with_a_refresh_under_legal_minimum() -> None:
    """C2 is contested: legal_minimum keeps the consent and asks for a refresh, without review."""
    stale = {"consents": [{"channel": "email", "date": "2022-01-01"}]}
    conservative = decide(**stale)
    legal_minimum = decide(settings=LEGAL_MINIMUM, **stale)
    assert not conservative.email_allowed and conservative.review_needed
    assert legal_minimum.email_allowed and not legal_minimum.review_needed
    assert "refresh_consent" in legal_minimum.required_actions


def test_last_use_keeps_a_consent_fresh() -> None:
    """Idle time counts from the later of the consent date and its last use."""
    used = decide(consents=[{"channel": "email", "date": "2020-01-01", "last_used": "2026-06-01"}])
    assert used.email_allowed and rules_of(used, "email") == ["C1"]


def test_a_withdrawn_consent_is_no_consent_whatever_the_withdrawal_date() -> None:
    """Withdrawal removes the consent; one dated after now is a data error that still counts (§9.1)."""
    gone = decide(consents=[EMAIL_CONSENT | {"withdrawn": "2026-11-28"}])
    future = decide(consents=[EMAIL_CONSENT | {"withdrawn": "2026-12-01"}])
    assert not gone.email_allowed and not future.email_allowed


def test_a_consent_given_until_a_day_holds_until_that_day_and_the_decision_says_so() -> None:
    """A consent recorded with its end (Salesforce's EffectiveTo) counts before that day, not from it, and the
    decision expires on that day, so a record nobody edits is decided again then."""
    until = {"consents": [EMAIL_CONSENT | {"ends": "2027-02-01"}]}
    before = decide(**until)
    assert before.email_allowed and rules_of(before, "email") == ["C1"]
    assert before.valid_until == date(2027, 2, 1)
    on_the_day = decide(now=date(2027, 2, 1), **until)
    assert not on_the_day.email_allowed
    assert not decide(consents=[EMAIL_CONSENT | {"ends": "2026-11-28"}]).email_allowed


def test_a_consent_given_after_an_opt_out_reopens_the_channel() -> None:
    """G2 gives way to an e-mail consent dated after the opt-out."""
    decision = decide(optout_email="2026-01-01", consents=[EMAIL_CONSENT])
    assert decision.email_allowed and "G2" not in rules_of(decision, "email")


def test_l1_with_a_documented_assessment_allows_and_asks_for_an_art14_notice() -> None:
    """An LIA reference turns L1 into a note: the call stays allowed, the Art. 14 notice is required."""
    decision = decide(sources=[{"kind": "linkedin_manual"}], lia_ref="LIA-7")
    assert not decision.do_not_cold_call and not decision.review_needed
    assert rules_of(decision, "phone") == ["N8", "L1"] and "art14_notice" in decision.required_actions


def test_l1_does_not_apply_when_any_source_is_first_party() -> None:
    """A LinkedIn lead who also filled in our form is called on N7, without L1."""
    decision = decide(sources=[{"kind": "linkedin_manual"}, {"kind": "web_form_optin"}])
    assert rules_of(decision, "phone") == ["N7"]


def test_art14_notice_is_required_whenever_data_came_from_an_indirect_source() -> None:
    """Even a contact reached on consent needs the notice if some data came from a purchased list."""
    decision = decide(
        sources=[{"kind": "purchased_list"}, {"kind": "web_form_optin"}], consents=[EMAIL_CONSENT]
    )
    assert decision.email_allowed and "art14_notice" in decision.required_actions


def test_permitted_email_always_requires_an_unsubscribe_link() -> None:
    """Every lawful marketing e-mail carries an opt-out, whatever its basis."""
    for fields in ({"consents": [EMAIL_CONSENT]}, {"customer": CUSTOMER}, {"country": "GB"}):
        decision = decide(**fields)
        assert decision.email_allowed and "unsubscribe_link" in decision.required_actions


def test_legacy_bel_me_niet_flags_decide_nothing() -> None:
    """NL_BMNR screenings are legacy data: a listed number of a company is still callable under N7."""
    decision = decide(
        dnc=[{"list": "NL_BMNR", "listed": True, "since": "2019-01-01", "checked": "2021-03-01"}]
    )
    assert not decision.do_not_cold_call and rules_of(decision, "phone") == ["N7"]


@pytest.mark.parametrize(
    ("fields", "category"),
    [
        ({"objection": "2026-01-01"}, "objected"),
        ({"consents": [EMAIL_CONSENT]}, "opt_in"),
        ({"sources": [{"kind": "existing_customer"}], "customer": CUSTOMER}, "customer"),
        ({"sources": [{"kind": "personal_acquaintance"}]}, "personal_relation"),
        ({"sources": [{"kind": "linkedin_manual"}]}, "linkedin"),
        ({"sources": [{"kind": "supplier"}]}, "supplier"),
        ({"sources": [{"kind": "public_registry"}]}, "public_registry"),
        ({"sources": [{"kind": "purchased_list"}]}, "purchased_list"),
        ({"sources": [{"kind": "event_list"}]}, "event_list"),
        ({"sources": [{"kind": "referral"}]}, "partner_referral"),
        ({"sources": [{"kind": "public_website"}]}, "public_website"),
        ({"sources": []}, "unknown"),
    ],
)
def test_lawful_use_category_follows_the_strongest_basis_then_provenance(
    fields: dict[str, Any], category: str
) -> None:
    """Objection, then consent, then customer, then the provenance of the data."""
    assert decide(**fields).lawful_use.value == category


def test_a_data_issue_closes_only_its_own_channel() -> None:
    """An invalid phone number blocks the call with review but leaves a consented e-mail allowed."""
    decision = decide(consents=[EMAIL_CONSENT], issues=[{"channel": "phone", "code": "invalid_phone"}])
    assert decision.do_not_cold_call and decision.email_allowed and decision.review_needed
    assert "invalid_phone" in next(r.text for r in decision.reasons if r.rule == "G8")


def test_an_invalid_email_address_is_a_data_issue_for_review_not_just_a_missing_address() -> None:
    """The mapping turns an invalid address into no address plus an `invalid_email` issue: the issue (G8) must
    decide, with review, so the record gets fixed; G9 alone would close e-mail silently."""
    decision = decide(email={"kind": "none"}, issues=[{"channel": "email", "code": "invalid_email"}])
    assert not decision.email_allowed and decision.review_needed
    email_rules = [r.rule for r in decision.reasons if r.channel in ("email", "both")]
    assert email_rules[-1] == "G8" and "G9" not in email_rules


def test_policy_id_names_the_rule_set_profile_and_settings() -> None:
    """Different settings give a different policy id; equal settings give the same one."""
    assert CONSERVATIVE.policy_id.startswith(f"lawful-use {RULESET_VERSION} conservative ")
    assert PolicySettings().policy_id == CONSERVATIVE.policy_id
    assert PolicySettings(consent_max_idle_months=12).policy_id != CONSERVATIVE.policy_id
    assert LEGAL_MINIMUM.policy_id.split()[2] == "legal_minimum"


def test_negative_thresholds_are_rejected() -> None:
    """A negative month count is a configuration error, not a silently odd policy."""
    with pytest.raises(ValueError, match="consent_max_idle_months"):
        PolicySettings(consent_max_idle_months=-1)


def test_every_pack_has_its_own_citations_for_the_common_rules() -> None:
    """A new country pack must say which of its statutes each common rule rests on: adding an entry to PACKS
    without them fails here rather than citing another country's law."""
    from connector.policy.rules.packs import PACK_COUNTRIES

    by_id = {info.id: info for info in CATALOGUE}
    for rule_id in ("G1", "G2", "G3", "G7", "C1", "C2", "C3", "S1", "S2", "S3"):
        assert set(by_id[rule_id].citations) == set(PACK_COUNTRIES), rule_id
