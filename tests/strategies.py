"""Hypothesis strategies for random, valid ContactFacts (synthetic values only)."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import strategies as st

from connector.models import (
    CallTarget,
    Consent,
    ContactFacts,
    Customer,
    DataIssue,
    Email,
    EmailKind,
    EntityType,
    RegisterList,
    Screening,
    Source,
    SourceKind,
)

dates = st.dates(min_value=date(2018, 1, 1), max_value=date(2027, 12, 31))
optional_dates = st.none() | dates
countries = st.sampled_from(["NL", "DE", "BE", "FR", "GB", "US", "CH", "ES"]) | st.none()

sources = st.builds(Source, kind=st.sampled_from(list(SourceKind)), date=optional_dates)
consents = st.builds(
    Consent,
    channel=st.sampled_from(["email", "phone"]),
    date=dates,
    sender_is_us=st.booleans(),
    specific=st.booleans(),
    last_used=optional_dates,
    withdrawn=optional_dates,
    ends=optional_dates,
)
customers = st.builds(
    Customer,
    paid=st.booleans(),
    same_entity=st.booleans(),
    last_sale=optional_dates,
    relationship_end=optional_dates,
    informed_at_collection=st.booleans(),
    optout_in_every_message=st.booleans(),
    similar_offer=st.booleans(),
)
screenings = st.builds(
    Screening,
    list=st.sampled_from(list(RegisterList)),
    listed=st.booleans(),
    since=optional_dates,
    checked=dates,
)

contact_facts = st.builds(
    ContactFacts,
    id=st.text(alphabet="0123456789ABCDEF", min_size=3, max_size=18),
    country=countries,
    entity_type=st.sampled_from(list(EntityType)),
    sources=st.lists(sources, max_size=3).map(tuple),
    email=st.builds(Email, kind=st.sampled_from(list(EmailKind)), published_for_offers=st.booleans()),
    consents=st.lists(consents, max_size=3).map(tuple),
    customer=st.none() | customers,
    optout_email=st.none() | dates,
    optout_phone=st.none() | dates,
    objection=st.none() | dates,
    dnc=st.lists(screenings, max_size=3).map(tuple),
    call_target=st.sampled_from(list(CallTarget)),
    lia_ref=st.none() | st.just("LIA-1"),
    issues=st.lists(
        st.builds(
            DataIssue, channel=st.sampled_from(["phone", "email", "both"]), code=st.just("invalid_phone")
        ),
        max_size=1,
    ).map(tuple),
)
evaluation_dates = st.dates(min_value=date(2025, 1, 1), max_value=date(2027, 12, 31))


def facts_near(now: date) -> st.SearchStrategy[ContactFacts]:
    """Contacts in the rule packs whose dates fall around ``now`` (a few years back, a few weeks ahead), so that
    consents, soft opt-ins, screenings and listings cross their thresholds soon after ``now``."""
    near = st.integers(min_value=-1300, max_value=60).map(lambda days: now + timedelta(days=days))
    maybe_near = st.none() | near
    return st.builds(
        ContactFacts,
        id=st.just("T1"),
        country=st.sampled_from(["NL", "DE", "BE", "FR", "GB"]),
        entity_type=st.sampled_from([EntityType.BUSINESS, EntityType.SOLE_TRADER, EntityType.CONSUMER]),
        sources=st.lists(
            st.builds(Source, kind=st.sampled_from([k for k in SourceKind if k is not SourceKind.UNKNOWN])),
            min_size=1,
            max_size=2,
        ).map(tuple),
        email=st.builds(Email, kind=st.sampled_from(list(EmailKind)), published_for_offers=st.booleans()),
        consents=st.lists(
            st.builds(
                Consent,
                channel=st.sampled_from(["email", "phone"]),
                date=near,
                sender_is_us=st.just(True),
                specific=st.just(True),
                last_used=maybe_near,
                ends=st.none() | near,
            ),
            max_size=2,
        ).map(tuple),
        customer=st.none()
        | st.builds(
            Customer,
            paid=st.booleans(),
            same_entity=st.just(True),
            last_sale=maybe_near,
            relationship_end=maybe_near,
            informed_at_collection=st.just(True),
            optout_in_every_message=st.just(True),
        ),
        dnc=st.lists(
            st.builds(
                Screening,
                list=st.sampled_from(
                    [RegisterList.BE_DNCM, RegisterList.UK_TPS, RegisterList.UK_CTPS, RegisterList.FR_BLOCTEL]
                ),
                listed=st.booleans(),
                since=maybe_near,
                checked=near,
            ),
            max_size=2,
        ).map(tuple),
        call_target=st.sampled_from(list(CallTarget)),
    )


timely_facts = evaluation_dates.flatmap(lambda now: st.tuples(st.just(now), facts_near(now)))
"""(now, facts) pairs whose facts have dates around ``now``."""
