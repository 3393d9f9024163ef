"""The pure planning step and the write-back values: only changes are written; the guard counts loosening."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hypothesis import given

from connector.mapping.load import load_mapping
from connector.mapping.writeback import reason_text, same_value, written_values
from connector.policy import PolicySettings, evaluate
from connector.sync.plan import BlastRadiusGuard, plan_record
from tests.conftest import NOW, facts
from tests.strategies import contact_facts

WB = load_mapping("salesforce").writeback
AT = datetime(2026, 11, 28, 2, 0, tzinfo=UTC)
CLOSED = evaluate(facts(objection="2026-01-01"), now=NOW, settings=PolicySettings())
OPEN = evaluate(
    facts(consents=[{"channel": "email", "date": "2026-10-01"}]), now=NOW, settings=PolicySettings()
)


def plan(current: dict[str, Any], decision: Any = CLOSED, crm: Any = "salesforce") -> Any:
    return plan_record("Contact", "003A", current, decision, writeback=WB, crm=crm, now=AT)


def test_a_record_already_holding_the_decision_gets_no_update() -> None:
    current = written_values(CLOSED, WB, "salesforce") | {WB.checked: "2026-01-01T00:00:00Z"}
    assert plan(current).update is None


def test_a_change_writes_the_changed_fields_and_the_checked_time_only() -> None:
    current = written_values(CLOSED, WB, "salesforce") | {
        WB.email_allowed: True,
        WB.checked: "2026-01-01T00:00:00Z",
    }
    result = plan(current)
    assert result.update is not None
    assert dict(result.update.values) == {WB.email_allowed: False, WB.checked: "2026-11-28T02:00:00Z"}
    assert [c.field for c in result.changes] == [WB.email_allowed]


def test_hubspot_values_are_the_strings_hubspot_stores() -> None:
    values = written_values(OPEN, WB, "hubspot")
    assert values[WB.email_allowed] == "true" and values[WB.review] == "false"
    hubspot_current = values | {WB.checked: "2026-01-01T00:00:00.000Z"}
    assert plan(hubspot_current, OPEN, "hubspot").update is None


def test_loosening_counts_only_records_written_before() -> None:
    fresh = plan({WB.do_not_cold_call: True, WB.email_allowed: False}, OPEN)
    assert not fresh.loosens, "a first write is not a move from restrictive to permissive"
    written_before = {WB.do_not_cold_call: True, WB.email_allowed: False, WB.checked: "2026-01-01T00:00:00Z"}
    assert plan(written_before, OPEN).loosens
    assert not plan(written_before, CLOSED).loosens


def test_the_guard_refuses_beyond_its_share_and_allows_a_small_absolute_minimum() -> None:
    loosening = plan({WB.email_allowed: False, WB.checked: "x"}, OPEN)
    guard = BlastRadiusGuard(share=0.05, minimum=2)
    assert guard.admit([loosening] * 2, pulled=10).allowed, "two is within the minimum"
    assert not guard.admit([loosening] * 3, pulled=10).allowed
    assert BlastRadiusGuard(share=0.05, minimum=2, enabled=False).admit([loosening] * 50, pulled=50).allowed


@given(contact_facts)
def test_reason_text_fits_the_field_and_names_each_channel(contact: Any) -> None:
    decision = evaluate(contact, now=NOW, settings=PolicySettings())
    text = reason_text(decision, max_length=WB.reason_max_length)
    assert len(text) <= WB.reason_max_length
    assert text.startswith("Call ") and "E-mail " in text


def test_same_value_reads_crm_spellings() -> None:
    assert same_value("true", True) and same_value(None, "") and same_value("FALSE", False)
    assert not same_value(None, False), "an unset checkbox is not yet written"
