"""An audit entry's stored values are computed once and read exactly as the per-call computation gives them:
the fingerprint earlier versions stored, the packed facts and decision, and the written values packed once."""

from __future__ import annotations

import dataclasses

from connector.policy import PolicySettings, evaluate
from connector.store import AuditEntry, WriteStatus
from connector.store.kept import Kept, fingerprint
from connector.store.packing import pack, pack_shared, unpack
from tests.conftest import NOW, facts


def test_the_kept_fingerprint_is_that_of_the_whole_list() -> None:
    contact = facts(id="003A", objection="2026-10-01")
    decision = evaluate(contact, now=NOW, settings=PolicySettings())
    kept = Kept().of(contact, decision, "003A")
    as_json = contact.model_dump(mode="json", exclude_defaults=True), decision.model_dump(mode="json")
    for outcome in ("settled", "failed", WriteStatus.REFUSED):
        assert kept.fingerprint(outcome) == fingerprint(*as_json, outcome)
    assert unpack(kept.packed_facts, "003A") == as_json[0]
    assert unpack(kept.packed_decision, "003A") == as_json[1]


def test_a_memo_asked_about_other_facts_starts_over() -> None:
    first, second = facts(id="003A"), facts(id="003A", objection="2026-10-01")
    decision = evaluate(first, now=NOW, settings=PolicySettings())
    kept = Kept()
    kept.of(first, decision, "003A").intended = b"sent"
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
