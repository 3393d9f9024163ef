"""Hypothesis strategies for random, valid ContactFacts (synthetic values only)."""

from __future__ import annotations

from datetime import date

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
