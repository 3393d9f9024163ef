"""The acceptance cases of the reference rule set, read from the project's own copy."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from connector.models import ContactFacts, Profile
from connector.policy import PolicySettings, evaluate

CASES_FILE = Path(__file__).parents[1] / "cases" / "lawful-use-cases.jsonl"
SHARED_CASES = Path(__file__).parents[3] / "shared" / "cases" / "lawful-use-cases.jsonl"


def _cases() -> list[dict[str, Any]]:
    return [json.loads(line) for line in CASES_FILE.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.mark.parametrize("case", _cases(), ids=lambda c: str(c["case"]))
def test_acceptance_case_gets_the_expected_flags(case: dict[str, Any]) -> None:
    """Each acceptance case yields exactly the flags (and review flag, where given) it expects."""
    decision = evaluate(
        ContactFacts.model_validate(case["facts"]),
        now=date.fromisoformat(case["now"]),
        settings=PolicySettings(profile=Profile(case["profile"])),
    )
    got = {key: getattr(decision, key) for key in case["expect"]}
    assert got == case["expect"], case["title"]


def test_the_project_copy_of_the_cases_matches_the_shared_reference() -> None:
    """When the shared reference folder is present, the project's copy of the cases is identical to it."""
    if not SHARED_CASES.exists():
        pytest.skip("no shared reference folder beside this clone")
    assert CASES_FILE.read_bytes() == SHARED_CASES.read_bytes()


def test_there_are_acceptance_cases_to_run() -> None:
    """The cases file is not empty, so the parametrised test above cannot pass vacuously."""
    assert len(_cases()) >= 40
