"""The compiled mapping's lookups answer as the mapping's tables read in full would."""

from __future__ import annotations

import itertools

from connector.mapping.facts import CompiledMapping
from connector.mapping.load import load_mapping
from connector.mapping.values import country_by_folded_name, country_code, legal_form_key
from connector.models import EntityType


def _longest_first(compiled: CompiledMapping, key: str) -> EntityType | None:
    """The legal form found by trying every form, longest first."""
    for form, kind in compiled.legal_forms:
        if key == form or key.endswith(" " + form):
            return kind
    return None


def test_a_legal_form_is_found_as_the_longest_first_list_finds_it() -> None:
    for crm in ("salesforce", "hubspot"):
        compiled = CompiledMapping(load_mapping(crm))
        forms = [form for form, _ in compiled.legal_forms]
        names = ["", "Acme", "Acme Holding", "bv", "Acme B.V.", "Jansen v.o.f.", "Müller GmbH & Co. KG"]
        names += [f"{word} {form}" for word, form in itertools.product(("Acme", "Acme Europe", "x"), forms)]
        names += [f"{form} Acme" for form in forms] + [form.upper() for form in forms]
        for name in names:
            key = legal_form_key(name)
            assert compiled.legal_form_in(key) == _longest_first(compiled, key), name


def test_a_country_name_is_found_as_in_the_mapping_table() -> None:
    compiled = CompiledMapping(load_mapping("salesforce"))
    names = [
        *compiled.mapping.countries,
        "nl",
        "UK",
        " Netherlands ",
        "NETHERLANDS",
        "Atlantis",
        "",
        None,
        31,
    ]
    for name in names:
        assert country_by_folded_name(name, compiled.countries) == country_code(
            name, compiled.mapping.countries
        )
