"""docs/contact-facts.md documents every field and every enum value of the canonical model, and its examples are
valid input: a user writes classify lines from that page, not from error messages."""

from __future__ import annotations

import json
import re
from enum import StrEnum
from pathlib import Path

import pytest
from pydantic import BaseModel

from connector.models import (
    Basis,
    CallTarget,
    ChannelBasis,
    Consent,
    ContactFacts,
    Customer,
    DataIssue,
    Decision,
    Email,
    EmailKind,
    EntityType,
    LawfulUse,
    Reason,
    RegisterList,
    Screening,
    Source,
    SourceKind,
)

DOC = Path(__file__).parents[2] / "docs" / "contact-facts.md"
TEXT = DOC.read_text(encoding="utf-8")
MODELS = [
    ContactFacts,
    Source,
    Email,
    Consent,
    Customer,
    Screening,
    DataIssue,
    Decision,
    Reason,
    ChannelBasis,
]
ENUMS = [EntityType, SourceKind, EmailKind, CallTarget, RegisterList, Basis, LawfulUse]


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_every_field_is_documented(model: type[BaseModel]) -> None:
    missing = [name for name in model.model_fields if f"`{name}`" not in TEXT]
    assert not missing, f"{model.__name__} fields missing from {DOC.name}: {missing}"


@pytest.mark.parametrize("enum", ENUMS, ids=lambda e: e.__name__)
def test_every_enum_value_is_documented(enum: type[StrEnum]) -> None:
    missing = [member.value for member in enum if f"`{member.value}`" not in TEXT]
    assert not missing, f"{enum.__name__} values missing from {DOC.name}: {missing}"


def test_the_example_lines_are_valid_contact_facts() -> None:
    section = TEXT.split("## Examples", 1)[1]
    lines = [line for line in section.splitlines() if line.startswith("{")]
    assert len(lines) >= 2
    for line in lines:
        ContactFacts.model_validate_json(line)


def test_the_decision_example_is_a_valid_decision() -> None:
    block = re.search(r"## Decision\s+```json\n(.*?)```", TEXT, re.DOTALL)
    assert block is not None
    Decision.model_validate(json.loads(block.group(1)))
