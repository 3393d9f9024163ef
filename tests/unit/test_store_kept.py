"""An audit entry's stored values are computed once and read exactly as the per-call computation gives them:
the fingerprint earlier versions stored, the packed facts and decision, and the written values packed once."""

from __future__ import annotations

import dataclasses

from connector.policy import PolicySettings, evaluate
from connector.store import AuditEntry, WriteStatus
from connector.store.kept import Kept, fingerprint
from connector.store.packing import pack, pack_shared, unpack
from tests.conftest import NOW, facts

CONTACTS = [
    facts(id="003A", objection="2026-10-01"),
    facts(id="003B"),
    facts(id="003C", country="DE", lia_ref="LIA-7"),
    facts(id="003D", country="FR", optout_email="2026-01-05"),
    facts(id='00Q\u00e9"x'),  # an id JSON escapes
]


def test_the_kept_fingerprint_and_packed_values_are_those_of_the_whole_values() -> None:
    for contact in CONTACTS:
        record_id = contact.id
        decision = evaluate(contact, now=NOW, settings=PolicySettings())
        for kept_for in (record_id, "another record"):  # a decision of another id shares nothing
            kept = Kept().of(contact, decision, kept_for)
            as_json = contact.model_dump(mode="json", exclude_defaults=True), decision.model_dump(mode="json")
            for outcome in ("settled", "failed", WriteStatus.REFUSED):
                assert kept.fingerprint(outcome) == fingerprint(*as_json, outcome)
            assert kept.packed_facts == pack(as_json[0], kept_for)
            assert kept.packed_decision == pack(as_json[1], kept_for)
            assert unpack(kept.packed_decision, kept_for) == as_json[1]
            assert (kept.lawful_use, kept.review_needed) == (decision.lawful_use, decision.review_needed)


def test_a_memo_asked_about_other_facts_starts_over() -> None:
    first, second = facts(id="003A"), facts(id="003A", objection="2026-10-01")
    decision = evaluate(first, now=NOW, settings=PolicySettings())
    kept = Kept()
    kept.of(first, decision, "003A").intended = {"Lawful_Use__c": "x"}
    again = kept.of(second, decision, "003A")
    assert unpack(again.packed_facts, "003A") == second.model_dump(mode="json", exclude_defaults=True)
    assert again.intended is None


def test_an_entry_remade_with_its_outcome_shares_its_stored_values() -> None:
    contact = facts(id="003A")
    decision = evaluate(contact, now=NOW, settings=PolicySettings())
    pending = AuditEntry(
        "Contact", "003A", contact, decision, WriteStatus.PENDING, {"Email_Allowed__c": False}
    )
    written = dataclasses.replace(pending, write_status=WriteStatus.WRITTEN)
    assert written.kept is pending.kept
    assert written == dataclasses.replace(written, kept=Kept())  # the memo is no part of the entry's value


def test_shared_values_pack_as_any_value() -> None:
    values = {"Do_Not_Cold_Call__c": True, "Lawful_Use_Reason__c": "Call no (G8 …)", "Checked": "2026-11-01"}
    assert pack_shared(values) == pack(values)
    assert unpack(pack_shared(values)) == values
    decision = {"id": "003A", "lawful_use": "do_not_contact"}
    assert pack_shared(decision, "003A") == pack(decision, "003A") == pack_shared(decision, "003A")
    assert unpack(pack_shared({**decision, "id": "003B"}, "003B"), "003B") == {**decision, "id": "003B"}
