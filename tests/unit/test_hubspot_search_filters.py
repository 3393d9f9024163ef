"""Pure HubSpot search semantics: request validation, each operator, groups, sorting and id narrowing."""

from __future__ import annotations

from typing import Any

import pytest

from crm_sandbox.hubspot.search import (
    Matcher,
    SearchError,
    compile_groups,
    filter_matches,
    id_bounds,
    parse_request,
    record_matches,
    sort_key,
)
from crm_sandbox.hubspot.signature import sign_v3, verify_v3

KINDS = {
    "email": ("string", False),
    "lifecyclestage": ("enumeration", False),
    "hs_legal_basis": ("enumeration", True),
    "createdate": ("datetime", False),
    "hs_object_id": ("number", False),
}


def kind_of(name: str) -> tuple[str, bool]:
    """Property kinds used by these tests."""
    return KINDS.get(name, ("string", False))


def f(prop: str, op: str, value: Any = None, **extra: Any) -> dict[str, Any]:
    """One filter dict."""
    out: dict[str, Any] = {"propertyName": prop, "operator": op, **extra}
    if value is not None:
        out["value"] = value
    return out


def test_eq_on_strings_ignores_case_but_not_on_enumerations() -> None:
    """EQ matches strings without regard to case and enumeration values exactly."""
    assert filter_matches(f("email", "EQ", "A@X.com"), "a@x.com", "string")
    assert not filter_matches(f("lifecyclestage", "EQ", "Customer"), "customer", "enumeration")
    assert filter_matches(f("lifecyclestage", "EQ", "customer"), "customer", "enumeration")


def test_neq_matches_records_without_the_value() -> None:
    """NEQ is true for a different value and for an unset property."""
    assert filter_matches(f("email", "NEQ", "a@x.com"), "b@x.com", "string")
    assert filter_matches(f("email", "NEQ", "a@x.com"), None, "string")
    assert not filter_matches(f("email", "NEQ", "a@x.com"), "A@x.com", "string")


def test_range_operators_compare_datetimes_as_epoch_milliseconds() -> None:
    """LT, LTE, GT, GTE and BETWEEN compare ISO datetimes against epoch-ms filter values."""
    value = "2020-01-20T10:00:00.000Z"  # 1579514400000
    assert filter_matches(f("createdate", "GTE", "1579514400000"), value, "datetime")
    assert not filter_matches(f("createdate", "GT", "1579514400000"), value, "datetime")
    assert filter_matches(f("createdate", "LTE", "1579514400000"), value, "datetime")
    assert filter_matches(f("createdate", "LT", "2020-01-21"), value, "datetime")
    between = f("createdate", "BETWEEN", "1579514399999", highValue="1579514400001")
    assert filter_matches(between, value, "datetime")
    assert not filter_matches(f("createdate", "GT", "0"), None, "datetime")


def test_numbers_compare_numerically_not_as_text() -> None:
    """Number properties compare as numbers, so 900 < 1000."""
    assert filter_matches(f("hs_object_id", "LT", "1000"), "900", "number")


def test_in_and_not_in_need_lowercase_string_values() -> None:
    """IN matches lowercase values; an uppercase value in the list never matches a string property."""
    assert filter_matches(f("email", "IN", values=["a@x.com"]), "A@X.com", "string")
    assert not filter_matches(f("email", "IN", values=["A@X.COM"]), "a@x.com", "string")
    assert filter_matches(f("email", "NOT_IN", values=["b@x.com"]), "a@x.com", "string")
    assert filter_matches(f("email", "NOT_IN", values=["b@x.com"]), None, "string")


def test_multi_checkbox_values_match_any_part() -> None:
    """A `;`-joined multi-checkbox value matches EQ and IN on any one of its parts."""
    value = "Legitimate interest – prospect/lead;Not applicable"
    assert filter_matches(f("hs_legal_basis", "EQ", "Not applicable"), value, "enumeration", multi=True)
    assert filter_matches(
        f("hs_legal_basis", "IN", values=["Legitimate interest – prospect/lead"]),
        value,
        "enumeration",
        multi=True,
    )


def test_has_property_and_not_has_property() -> None:
    """HAS_PROPERTY is true for a non-empty value and NOT_HAS_PROPERTY for null or empty."""
    assert filter_matches(f("email", "HAS_PROPERTY"), "a@x.com", "string")
    assert filter_matches(f("email", "NOT_HAS_PROPERTY"), None, "string")
    assert filter_matches(f("email", "NOT_HAS_PROPERTY"), "", "string")


def test_contains_token_supports_wildcards() -> None:
    """CONTAINS_TOKEN matches whole tokens and `*` wildcards; NOT_CONTAINS_TOKEN is its negation."""
    assert filter_matches(f("email", "CONTAINS_TOKEN", "*@acme.nl"), "jan@acme.nl", "string")
    assert filter_matches(f("company", "CONTAINS_TOKEN", "polder"), "Polder Energie", "string")
    assert not filter_matches(f("company", "CONTAINS_TOKEN", "pold"), "Polder Energie", "string")
    assert filter_matches(f("company", "NOT_CONTAINS_TOKEN", "acme"), "Polder Energie", "string")


def test_groups_are_ored_and_filters_inside_are_anded() -> None:
    """A record matches when all filters of at least one group match."""
    record = {"email": "a@x.com", "lifecyclestage": "lead"}
    groups = (
        (f("email", "EQ", "a@x.com"), f("lifecyclestage", "EQ", "customer")),
        (f("lifecyclestage", "EQ", "lead"),),
    )
    assert record_matches(groups, record.get, kind_of)
    assert not record_matches(groups[:1], record.get, kind_of)
    assert record_matches((), record.get, kind_of)


def test_request_limits_are_enforced() -> None:
    """More than 5 groups, 6 filters in a group, 18 filters, one sort or limit 200 is a SearchError."""
    one = {"filters": [f("email", "HAS_PROPERTY")]}
    with pytest.raises(SearchError):
        parse_request({"filterGroups": [one] * 6})
    with pytest.raises(SearchError):
        parse_request({"filterGroups": [{"filters": [f("email", "HAS_PROPERTY")] * 7}]})
    with pytest.raises(SearchError):
        parse_request({"sorts": ["a", "b"]})
    with pytest.raises(SearchError):
        parse_request({"limit": 201})
    with pytest.raises(SearchError):
        parse_request({"filterGroups": [{"filters": [f("email", "LIKE", "x")]}]})


def test_both_sort_shapes_are_accepted() -> None:
    """`"-prop"` strings and `{"propertyName","direction"}` objects both parse to one sort rule."""
    assert (
        parse_request({"sorts": ["-createdate"]}).sort
        == parse_request({"sorts": [{"propertyName": "createdate", "direction": "DESCENDING"}]}).sort
    )
    assert parse_request({"after": "200", "limit": 200}).after == 200


def test_sort_key_puts_unset_values_last() -> None:
    """Sorting ascending puts unset values after every set value."""
    values = ["2021-01-01T00:00:00.000Z", None, "2020-01-01T00:00:00.000Z"]
    ordered = sorted(values, key=lambda v: sort_key(v, "datetime"))
    assert ordered == ["2020-01-01T00:00:00.000Z", "2021-01-01T00:00:00.000Z", None]


def test_id_bounds_narrow_candidates_from_hs_object_id_filters() -> None:
    """GT/LTE on hs_object_id become an index range; other filters leave the group unconstrained."""
    group = (f("hs_object_id", "GT", "1100"), f("hs_object_id", "LTE", "1200"))
    assert id_bounds(group, 1001) == (100, 200)
    assert id_bounds((f("email", "HAS_PROPERTY"),), 1001) is None


def test_v3_signature_matches_the_documented_vector_and_rejects_stale_requests() -> None:
    """The v3 signer reproduces HubSpot's test vector; a five-minute-old timestamp fails verification."""
    secret, uri, body = (
        "yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy",
        "https://www.example.com/webhook_uri",
        "{'example_field':'example_value'}",
    )
    expected = "HPW73RUtKmcYoEDADG0s6MmGFWUzWJKAW07r8RDgcQw="
    assert sign_v3(secret, "POST", uri, body, 15000000) == expected
    assert verify_v3(secret, "POST", uri, body, "15000000", expected, now_ms=15000000 + 1000)
    assert not verify_v3(secret, "POST", uri, body, "15000000", expected, now_ms=15000000 + 300_001)
    assert sign_v3(secret, "POST", "https://www.example.com/webhook%3Auri", body, 1) == sign_v3(
        secret, "POST", "https://www.example.com/webhook:uri", body, 1
    )


def test_a_matcher_remembering_outcomes_per_value_agrees_with_record_matches(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A walk over many records sharing values (and values beyond what it remembers) decides as each record
    evaluated alone does."""
    monkeypatch.setattr(Matcher, "MEMO", 5)
    groups = (
        (f("createdate", "GTE", "1579514400000"), f("email", "NOT_HAS_PROPERTY")),
        (f("createdate", "LT", "1579514400000"), f("lifecyclestage", "IN", values=["lead", "customer"])),
        (f("hs_legal_basis", "EQ", "Not applicable"), f("email", "CONTAINS_TOKEN", "*@x.com")),
    )
    matcher = Matcher(compile_groups(groups, kind_of))
    dates = ("2020-01-20T10:00:00.000Z", "2020-01-20T09:59:59.999Z", "1579514400000", None, "", "not a date")
    records = [
        {"createdate": dates[i % 6], "email": (None, "a@x.com", "b@y.org", "")[i % 4],
         "lifecyclestage": ("lead", "Lead", "customer", None)[i % 4 if i % 3 else 2],
         "hs_legal_basis": ("Not applicable;Performance of a contract", None, "Not applicable")[i % 3]}
        for i in range(60)
    ]  # fmt: skip
    outcomes = [matcher(r.get) for r in records]
    assert outcomes == [record_matches(groups, r.get, kind_of) for r in records]
    assert any(outcomes) and not all(outcomes)
    assert Matcher(())({}.get)
