"""Every list of the connector's own fields derives from one table: install, write-back, echo, transitions."""

from __future__ import annotations

from typing import get_args

import pytest

from connector.crm.hubspot.install import definitions as hubspot_definitions
from connector.crm.salesforce.definitions import field_definitions
from connector.crm.salesforce.fields import own_fields as salesforce_own_fields
from connector.mapping.load import load_mapping
from connector.mapping.own_fields import (
    FLAGS,
    OWN_FIELDS,
    ROLES,
    FieldKind,
    Role,
    field_names,
    flag_names,
    written_names,
)
from connector.mapping.schema import MappingFile
from connector.mapping.writeback import written_values
from connector.models import LawfulUse
from connector.policy import PolicySettings, evaluate
from connector.webhooks.config import own_fields as echo_fields
from crm_sandbox.salesforce.schema import FieldSpec
from crm_sandbox.salesforce.state import SalesforceState
from crm_sandbox.salesforce.tooling import add_custom_field, preinstall_connector_fields
from tests.conftest import NOW, facts

SALESFORCE = load_mapping("salesforce")
HUBSPOT = load_mapping("hubspot")
SALESFORCE_TYPES = {
    FieldKind.CHECKBOX: "Checkbox",
    FieldKind.PICKLIST: "Picklist",
    FieldKind.TEXT: "Text",
    FieldKind.DATETIME: "DateTime",
}
HUBSPOT_TYPES = {
    FieldKind.CHECKBOX: ("bool", "booleancheckbox"),
    FieldKind.PICKLIST: ("enumeration", "select"),
    FieldKind.TEXT: ("string", "text"),
    FieldKind.DATETIME: ("datetime", "date"),
}


def renamed(mapping: MappingFile) -> MappingFile:
    """The mapping with every own field renamed and one mirror, as an admin may configure it."""
    names = {role: f"X_{name}" for role, name in field_names(mapping.writeback).items()}
    writeback = mapping.writeback.model_copy(update={**names, "mirror": {"DoNotCall": "do_not_cold_call"}})
    return mapping.model_copy(update={"writeback": writeback})


class TestTheTable:
    def test_every_role_has_one_row_and_every_row_a_name_in_the_mapping(self) -> None:
        assert sorted(ROLES) == sorted(get_args(Role))
        assert len(set(ROLES)) == len(OWN_FIELDS)
        for mapping in (SALESFORCE, HUBSPOT):
            assert set(field_names(mapping.writeback)) == set(ROLES)

    def test_flags_are_the_checkboxes_with_a_permissive_value(self) -> None:
        assert {(flag.role, flag.permissive) for flag in FLAGS} == {
            ("do_not_cold_call", False),
            ("email_allowed", True),
        }
        assert all(flag.kind is FieldKind.CHECKBOX for flag in FLAGS)

    def test_the_lawful_use_picklist_lists_the_canonical_categories(self) -> None:
        (picklist,) = [field for field in OWN_FIELDS if field.kind is FieldKind.PICKLIST]
        assert [value for value, _ in picklist.options] == [use.value for use in LawfulUse]


@pytest.mark.parametrize("mapping", [SALESFORCE, renamed(SALESFORCE)], ids=["shipped", "renamed"])
def test_salesforce_install_defines_exactly_the_tables_fields_with_its_types(mapping: MappingFile) -> None:
    names = field_names(mapping.writeback)
    definitions = {(d.object_type, d.name): d.metadata for d in field_definitions(mapping)}
    expected = {(obj, names[field.role]) for obj in mapping.objects for field in OWN_FIELDS}
    assert set(definitions) == expected
    for obj in mapping.objects:
        for field in OWN_FIELDS:
            metadata = definitions[obj, names[field.role]]
            assert metadata["type"] == SALESFORCE_TYPES[field.kind]
            assert metadata["label"] == field.label
            assert field.help in metadata["inlineHelpText"]


@pytest.mark.parametrize("mapping", [HUBSPOT, renamed(HUBSPOT)], ids=["shipped", "renamed"])
def test_hubspot_install_defines_exactly_the_tables_properties_with_its_types(mapping: MappingFile) -> None:
    names = field_names(mapping.writeback)
    specs = {spec.name: spec for spec in hubspot_definitions(mapping.writeback)}
    assert set(specs) == {names[field.role] for field in OWN_FIELDS}
    for field in OWN_FIELDS:
        spec = specs[names[field.role]]
        assert (spec.type, spec.field_type) == HUBSPOT_TYPES[field.kind]
        assert spec.label == field.label
        assert spec.description.startswith(field.help)
        if field.kind is FieldKind.PICKLIST:
            assert [(o["value"], o["label"]) for o in spec.options] == list(field.options)


@pytest.mark.parametrize("mapping", [SALESFORCE, HUBSPOT, renamed(SALESFORCE), renamed(HUBSPOT)])
def test_write_allow_list_echo_suppression_and_transitions_are_the_mappings_names(
    mapping: MappingFile,
) -> None:
    wb = mapping.writeback
    own = {getattr(wb, role) for role in ROLES} | set(wb.mirror)
    assert set(written_names(wb)) == own
    assert echo_fields(wb) == own
    assert set(salesforce_own_fields(mapping)) == own
    assert flag_names(wb) == {getattr(wb, flag.role): flag.role for flag in FLAGS}


@pytest.mark.parametrize("mapping", [SALESFORCE, renamed(HUBSPOT)], ids=["salesforce", "hubspot"])
def test_write_back_writes_every_own_field_but_the_timestamp(mapping: MappingFile) -> None:
    crm = "hubspot" if mapping.crm == "hubspot" else "salesforce"
    names = field_names(mapping.writeback)
    decision = evaluate(facts(objection="2026-01-01"), now=NOW, settings=PolicySettings())
    values = written_values(decision, mapping.writeback, crm)
    assert list(values) == [names[field.role] for field in OWN_FIELDS if field.role != "checked"]


def _custom_fields(state: SalesforceState, objects: list[str]) -> dict[str, FieldSpec]:
    found: dict[str, FieldSpec] = {}
    for obj in objects:
        spec = state.store.spec(obj)
        assert spec is not None
        found |= {f"{obj}.{f.name}": f for f in spec.fields.values() if f.fls_managed}
    return found


def test_the_sandbox_preinstalls_exactly_what_salesforce_install_creates() -> None:
    objects = list(SALESFORCE.objects)
    preinstalled = SalesforceState(contacts=0, leads=0)
    preinstall_connector_fields(preinstalled)
    installed = SalesforceState(contacts=0, leads=0)
    for definition in field_definitions(SALESFORCE):
        add_custom_field(installed, definition.full_name, definition.metadata)
    assert _custom_fields(preinstalled, objects) == _custom_fields(installed, objects)
    assert len(_custom_fields(installed, objects)) == len(OWN_FIELDS) * len(objects)


def test_the_field_names_follow_the_write_back_section_asked_about() -> None:
    salesforce, hubspot = load_mapping("salesforce").writeback, load_mapping("hubspot").writeback
    first = field_names(salesforce)
    first["checked"] = "changed by the caller"
    assert field_names(salesforce)["checked"] == salesforce.checked
    assert field_names(hubspot)["checked"] == hubspot.checked != salesforce.checked
    renamed = salesforce.model_copy(update={"checked": "Checked_At__c"})
    assert field_names(renamed)["checked"] == "Checked_At__c"
    assert field_names(salesforce)["checked"] == salesforce.checked
