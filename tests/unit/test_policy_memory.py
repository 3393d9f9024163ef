"""The engine's memory never changes a decision: a remembered channel equals a fresh walk of its chain."""

from __future__ import annotations

from bisect import bisect_right
from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st

from connector.models import ContactFacts, Decision, Profile
from connector.policy import PolicySettings, evaluate
from connector.policy.chain import CATALOGUE, LAW_DAYS, decide
from connector.policy.engine import _decision, _values
from connector.policy.expiry import _dated, _dated_days, candidate_days, candidates
from connector.policy.memory import Memory
from connector.policy.signature import signatures
from connector.policy.situation import situation_of
from tests.strategies import contact_facts, evaluation_dates, facts_near

SETTINGS = st.sampled_from(
    [
        PolicySettings(),
        PolicySettings(profile=Profile.LEGAL_MINIMUM),
        PolicySettings(sender_is_charity_or_publisher=True, consent_max_idle_months=12, uk_tps_grace_days=0),
    ]
)


def _walked(facts: ContactFacts, now: date, memory: Memory) -> None:
    """Every channel the memory gives for ``facts`` on ``now`` shows what walking its chain shows."""
    s = situation_of(facts, now=now, settings=memory.settings)
    phone_signature, email_signature, _ = signatures(s, bisect_right(LAW_DAYS, now))
    for channel, signature in (("phone", phone_signature), ("email", email_signature)):
        remembered = memory.channel(s, channel, signature)
        walked = decide(s, channel)
        assert remembered.allowed == walked.verdict.allowed
        assert remembered.basis == walked.verdict.basis
        assert remembered.trace == tuple((info, outcome.text) for info, outcome in walked.trace)
        assert remembered.actions == tuple(walked.actions())
        assert remembered.review == walked.review


@settings(max_examples=200)
@given(
    evaluation_dates.flatmap(lambda now: st.tuples(st.just(now), facts_near(now) | contact_facts)),
    st.lists(contact_facts | evaluation_dates.flatmap(facts_near), min_size=3, max_size=3),
    SETTINGS,
)
def test_remembered_decisions_match_a_fresh_walk(
    dated_base: tuple[date, ContactFacts], others: list[ContactFacts], policy: PolicySettings
) -> None:
    """A contact, then copies of it with one field taken from another contact: a signature that missed what a
    rule reads would give a copy the remembered channel of the original."""
    now, base = dated_base
    memory = Memory(policy)
    _walked(base, now, memory)
    for other in others:
        for name in ContactFacts.model_fields:
            _walked(base.model_copy(update={name: getattr(other, name)}), now, memory)


@settings(max_examples=60)
@given(evaluation_dates.flatmap(lambda now: st.tuples(st.just(now), st.lists(facts_near(now), min_size=20))))
def test_remembered_decisions_match_a_fresh_walk_around_thresholds(
    batch: tuple[date, list[ContactFacts]],
) -> None:
    """The same, for contacts whose consents, customers and screenings cross their thresholds near ``now``."""
    now, contacts = batch
    memory = Memory(PolicySettings())
    for facts in contacts:
        _walked(facts, now, memory)


@given(contact_facts, SETTINGS)
def test_candidate_days_are_the_dates_of_the_candidates(facts: ContactFacts, policy: PolicySettings) -> None:
    """``_dated_days`` (what evaluate uses) yields exactly the dates of ``_dated`` (what ``upcoming`` names)."""
    assert _dated_days(facts, policy) == {day for day, _ in _dated(facts, policy)}


@given(contact_facts, evaluation_dates, SETTINGS)
def test_the_engine_builds_decisions_as_the_trusted_constructor_does(
    facts: ContactFacts, now: date, policy: PolicySettings
) -> None:
    """evaluate's own Decision builder gives the object Decision.trusted gives, fields set included."""
    decision = evaluate(facts, now=now, settings=policy)
    trusted = Decision.trusted(**decision.__dict__)
    assert decision == trusted
    assert decision.model_fields_set == trusted.model_fields_set
    assert Decision.model_validate_json(decision.model_dump_json()) == decision


@given(st.lists(st.tuples(contact_facts, SETTINGS), min_size=2, max_size=10), evaluation_dates)
def test_evaluations_under_different_settings_keep_their_own_memory(
    batch: list[tuple[ContactFacts, PolicySettings]], now: date
) -> None:
    """Settings that alternate from one evaluation to the next each get their own policy's decision."""
    for facts, policy in batch:
        assert evaluate(facts, now=now, settings=policy).policy == policy.policy_id


@given(
    evaluation_dates.flatmap(lambda now: st.tuples(st.just(now), facts_near(now) | contact_facts)), SETTINGS
)
def test_candidate_days_are_the_days_of_every_candidate(
    dated: tuple[date, ContactFacts], policy: PolicySettings
) -> None:
    """``candidate_days`` (with its shortcut for contacts whose dates all lie far behind) lists exactly the
    dates ``candidates`` names."""
    now, facts = dated
    found = candidates(facts, now=now, settings=policy, catalogue=CATALOGUE)
    assert candidate_days(facts, now=now, settings=policy, catalogue=CATALOGUE) == [day for day, _ in found]


def test_an_old_consent_still_names_the_day_it_ends() -> None:
    """A consent given long ago whose end lies ahead: every period from it is over, its end is still to come."""
    facts = ContactFacts.model_validate(
        {
            "id": "T1",
            "country": "NL",
            "consents": [{"channel": "email", "date": "2019-03-01", "ends": "2027-01-01"}],
            "customer": {"last_sale": "2019-05-01"},
            "dnc": [{"list": "OWN", "listed": True, "checked": "2019-06-01"}],
        }
    )
    policy = PolicySettings()
    now = date(2026, 11, 28)
    assert candidate_days(facts, now=now, settings=policy, catalogue=CATALOGUE) == [date(2027, 1, 1)]
    stale = facts.model_copy(update={"consents": (facts.consents[0].model_copy(update={"last_used": now}),)})
    assert date(2028, 11, 29) in candidate_days(stale, now=now, settings=policy, catalogue=CATALOGUE)


_UNDATED = {
    "consents": (),
    "customer": None,
    "dnc": (),
    "objection": None,
    "optout_email": None,
    "optout_phone": None,
    "issues": (),
}


@settings(max_examples=150)
@given(
    evaluation_dates.flatmap(lambda now: st.tuples(st.just(now), facts_near(now) | contact_facts)),
    st.lists(contact_facts | evaluation_dates.flatmap(facts_near), min_size=2, max_size=2),
    evaluation_dates,
    SETTINGS,
)
def test_remembered_undated_decisions_match_a_fresh_decision(
    dated_base: tuple[date, ContactFacts], others: list[ContactFacts], later: date, policy: PolicySettings
) -> None:
    """Contacts without dated facts are remembered whole, valid_until included: a contact, and copies of it
    with one field taken from another contact, each on two dates, must each be what a decision with an empty
    memory gives."""
    now, base = dated_base
    undated = base.model_copy(update=_UNDATED)
    variants = [undated] + [
        undated.model_copy(update={name: getattr(other, name)})
        for other in others
        for name in ContactFacts.model_fields
        if name not in _UNDATED
    ]
    for contact in variants:
        for day in (now, later):
            fresh = _decision(_values(contact, day, bisect_right(LAW_DAYS, day), Memory(policy)))
            assert evaluate(contact, now=day, settings=policy) == fresh
