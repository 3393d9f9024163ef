"""Properties of the policy core over random contacts: total, safe under objection, monotone, deterministic."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from connector.models import ContactFacts, Decision, Profile
from connector.policy import PolicySettings, evaluate
from tests.strategies import contact_facts, dates, evaluation_dates, timely_facts

CONSERVATIVE = PolicySettings()
LEGAL_MINIMUM = PolicySettings(profile=Profile.LEGAL_MINIMUM)
profiles = st.sampled_from([CONSERVATIVE, LEGAL_MINIMUM])


def permissions(decision: Decision) -> tuple[bool, bool]:
    return (not decision.do_not_cold_call, decision.email_allowed)


def no_more_permissive(after: Decision, before: Decision) -> bool:
    return all(a <= b for a, b in zip(permissions(after), permissions(before), strict=True))


@given(contact_facts, evaluation_dates, profiles)
def test_evaluation_never_raises_and_yields_a_valid_decision(
    facts: ContactFacts, now: date, settings: PolicySettings
) -> None:
    """Every valid contact gets a Decision that passes the validating model and explains itself."""
    decision = evaluate(facts, now=now, settings=settings)
    assert Decision.model_validate_json(decision.model_dump_json()) == decision
    assert decision.reasons, "a decision always names at least one rule"
    if not decision.do_not_cold_call:
        assert any(r.channel in ("phone", "both") for r in decision.reasons)


@given(contact_facts, evaluation_dates, profiles, dates)
def test_an_objection_closes_both_channels(
    facts: ContactFacts, now: date, settings: PolicySettings, objected: date
) -> None:
    """G1: an objection not followed by a newer consent means no call and no marketing e-mail."""
    later_consents = tuple(c for c in facts.consents if c.date <= objected)
    objecting = facts.model_copy(update={"objection": objected, "consents": later_consents})
    decision = evaluate(objecting, now=now, settings=settings)
    assert decision.do_not_cold_call and not decision.email_allowed
    assert decision.lawful_use.value == "objected"


@given(contact_facts, evaluation_dates, profiles, st.data())
def test_withdrawing_a_consent_never_makes_the_result_more_permissive(
    facts: ContactFacts, now: date, settings: PolicySettings, data: st.DataObject
) -> None:
    """Marking any consent withdrawn as of now cannot open a channel."""
    if not facts.consents:
        return
    index = data.draw(st.integers(0, len(facts.consents) - 1))
    consents = list(facts.consents)
    consents[index] = consents[index].model_copy(update={"withdrawn": now})
    withdrawn = facts.model_copy(update={"consents": tuple(consents)})
    assert no_more_permissive(
        evaluate(withdrawn, now=now, settings=settings), evaluate(facts, now=now, settings=settings)
    )


@given(
    contact_facts,
    evaluation_dates,
    profiles,
    st.sampled_from(["optout_email", "optout_phone", "objection"]),
    dates,
)
def test_adding_an_opt_out_never_makes_the_result_more_permissive(
    facts: ContactFacts, now: date, settings: PolicySettings, field: str, when: date
) -> None:
    """An e-mail opt-out, a phone opt-out or an objection can only close channels."""
    if getattr(facts, field) is not None:
        return
    opted_out = facts.model_copy(update={field: when})
    assert no_more_permissive(
        evaluate(opted_out, now=now, settings=settings), evaluate(facts, now=now, settings=settings)
    )


@given(contact_facts, evaluation_dates)
def test_legal_minimum_is_never_more_restrictive_than_conservative(facts: ContactFacts, now: date) -> None:
    """The profiles differ only on contested rules, where legal_minimum takes the permissive side."""
    conservative = evaluate(facts, now=now, settings=CONSERVATIVE)
    legal_minimum = evaluate(facts, now=now, settings=LEGAL_MINIMUM)
    assert no_more_permissive(conservative, legal_minimum)


@given(contact_facts, evaluation_dates, profiles)
def test_the_same_input_gives_the_same_decision(
    facts: ContactFacts, now: date, settings: PolicySettings
) -> None:
    """Invariant 4: same facts, same policy, same now, same Decision (also from a re-parsed copy)."""
    again = ContactFacts.model_validate_json(facts.model_dump_json())
    assert evaluate(facts, now=now, settings=settings) == evaluate(again, now=now, settings=settings)


# The statutes and authorities that belong to one country pack: a reason for a contact elsewhere never names them.
PACK_STATUTES = {
    "NL": ("Tw ", "ACM", "Code Telemarketing", "DDMA", "AP ", "OPTA", "Energiewet"),
    "DE": ("UWG", "BGH", "AG München"),
    "BE": ("WER ", "KB ", "DNCM"),
    "FR": ("CPCE", "C. consom", "CNIL", "Bloctel", "Loi 2025"),
    "GB": ("PECR", "UK GDPR", "ICO", "TPS"),
}


def test_the_statute_table_covers_every_pack() -> None:
    from connector.policy.rules.packs import PACK_COUNTRIES

    assert set(PACK_STATUTES) == PACK_COUNTRIES


@given(contact_facts, evaluation_dates, profiles, st.sampled_from(sorted(PACK_STATUTES)))
def test_reasons_cite_only_the_law_of_the_contacts_country(
    facts: ContactFacts, now: date, settings: PolicySettings, country: str
) -> None:
    """For every pack, no citation of a reason names another pack's statute or authority."""
    decision = evaluate(facts.model_copy(update={"country": country}), now=now, settings=settings)
    foreign = [marker for other, markers in PACK_STATUTES.items() if other != country for marker in markers]
    for reason in decision.reasons:
        assert not [m for m in foreign if m in reason.citation], (reason.rule, reason.citation)


def _shown(decision: Decision) -> Decision:
    """The decision without its expiry, for comparing decisions made on different days."""
    return decision.model_copy(update={"valid_until": None})


@given(st.one_of(st.tuples(evaluation_dates, contact_facts), timely_facts), profiles, st.integers(0, 4000))
def test_a_decision_holds_until_valid_until_and_changes_on_that_day(
    dated: tuple[date, ContactFacts], settings: PolicySettings, offset: int
) -> None:
    """``valid_until`` is exact: every day before it gives the same decision, the day itself a different one."""
    now, facts = dated
    decision = evaluate(facts, now=now, settings=settings)
    if decision.valid_until is None:
        later = now + timedelta(days=offset)
        assert _shown(evaluate(facts, now=later, settings=settings)) == _shown(decision)
        return
    assert decision.valid_until > now
    span = (decision.valid_until - now).days
    before = now + timedelta(days=offset % span)  # any day from now to the day before valid_until
    assert _shown(evaluate(facts, now=before, settings=settings)) == _shown(decision)
    last = decision.valid_until - timedelta(days=1)
    assert _shown(evaluate(facts, now=last, settings=settings)) == _shown(decision)
    assert _shown(evaluate(facts, now=decision.valid_until, settings=settings)) != _shown(decision)


@given(contact_facts, evaluation_dates, profiles)
def test_the_expiry_is_stable_while_the_decision_holds(
    facts: ContactFacts, now: date, settings: PolicySettings
) -> None:
    """Deciding again on any day before ``valid_until`` gives the same ``valid_until``: nothing is re-decided
    early, and a record decided today and tomorrow carries the same expiry."""
    decision = evaluate(facts, now=now, settings=settings)
    if decision.valid_until is not None and decision.valid_until - now > timedelta(days=1):
        tomorrow = evaluate(facts, now=now + timedelta(days=1), settings=settings)
        assert tomorrow.valid_until == decision.valid_until
