"""CRM record + mapping -> ContactFacts. Pure: no I/O, no clock.

Anything missing or unreadable lowers certainty and never raises a permission: an unknown picklist value or a
malformed e-mail or phone becomes a DataIssue (the policy closes that channel with review); an unknown country
or entity type stays unknown (the policy reviews the record). Issue codes name the field, never its value.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from functools import cached_property
from typing import Any

from connector.mapping.schema import LegalBasis, MappingFile, ObjectMapping, SourceField
from connector.mapping.values import (
    Unreadable,
    as_bool,
    as_date,
    country_code,
    email_kind,
    legal_form_key,
    phone_is_valid,
)
from connector.models import (
    CallTarget,
    Consent,
    ContactFacts,
    Customer,
    DataIssue,
    Email,
    EmailKind,
    EntityType,
    Source,
    SourceKind,
)

__all__ = ["CompiledMapping", "facts_from_record"]

_RELATION_SOURCES = {
    "customer": SourceKind.EXISTING_CUSTOMER,
    "former_customer": SourceKind.EXISTING_CUSTOMER,
    "partner": SourceKind.PARTNER,
    "supplier": SourceKind.SUPPLIER,
}


@dataclass(frozen=True)
class CompiledMapping:
    """A MappingFile with its lookup tables prepared once per run."""

    mapping: MappingFile

    @cached_property
    def digest(self) -> str:
        """A short hash of the mapping: facts made under another mapping need the raw fields again."""
        return hashlib.sha256(self.mapping.model_dump_json().encode()).hexdigest()[:16]

    @cached_property
    def free_mail(self) -> frozenset[str]:
        return frozenset(d.lower() for d in self.mapping.free_mail_domains)

    @cached_property
    def role_mailboxes(self) -> frozenset[str]:
        return frozenset(m.lower() for m in self.mapping.role_mailboxes)

    @cached_property
    def legal_forms(self) -> tuple[tuple[str, EntityType], ...]:
        """Folded legal forms, longest first so that 'v.o.f.' wins over a shorter suffix."""
        forms = [
            (legal_form_key(form), EntityType(kind))
            for kind, names in self.mapping.entity.legal_forms.items()
            for form in names
        ]
        return tuple(sorted(forms, key=lambda item: -len(item[0])))

    def lookup(self, table: Mapping[str, Any], value: str) -> Any | None:
        if value in table:
            return table[value]
        folded = value.strip().casefold()
        return next((v for k, v in table.items() if k.strip().casefold() == folded), None)

    def lookup_first(self, table: Mapping[str, Any], keys: tuple[str, ...]) -> Any | None:
        """The entry of the first key found (a drill-down key before its plain value)."""
        return next((found for key in keys if (found := self.lookup(table, key)) is not None), None)


class _Reader:
    """Reads one record's slots, collecting issues instead of raising."""

    def __init__(self, fields: Mapping[str, Any]) -> None:
        self.fields = fields
        self.issues: dict[str, str] = {}

    def first(self, names: list[str]) -> Any | None:
        for name in names:
            value = self.fields.get(name)
            if value is not None and value != "":
                return value
        return None

    def source(self, entries: list[str | SourceField]) -> tuple[str, ...] | None:
        """The lookup keys of the first non-empty source entry: ``VALUE/DETAIL`` then ``VALUE``, or None."""
        for entry in entries:
            name, detail = (entry, None) if isinstance(entry, str) else (entry.field, entry.detail)
            value = self.first([name])
            if value is None:
                continue
            extra = self.first([detail]) if detail is not None else None
            return (f"{value}/{extra}", str(value)) if extra is not None else (str(value),)
        return None

    def date(self, names: list[str], *, channel: str, code: str, modified: date) -> date | None:
        """A date slot; a true checkbox is dated ``modified`` (see facts_from_record)."""
        value = self.first(names)
        if value is None:
            return None
        if isinstance(value, bool) or (isinstance(value, str) and value.lower() in ("true", "false")):
            try:
                return modified if as_bool(value) else None
            except Unreadable:
                pass
        try:
            return as_date(value)
        except Unreadable:
            self.issues[code] = channel
            return None


def _entity(compiled: CompiledMapping, company: Any, legal_form: Any) -> EntityType:
    rules = compiled.mapping.entity
    for text in (legal_form, company):
        if isinstance(text, str) and text.strip():
            key = legal_form_key(text)
            for form, kind in compiled.legal_forms:
                if key == form or key.endswith(" " + form):
                    return kind
    if not (isinstance(company, str) and company.strip()):
        return rules.without_company
    return rules.company_without_legal_form


def _legal_basis(
    compiled: CompiledMapping, om: ObjectMapping, r: _Reader, consents: list[Consent], *, modified: date
) -> str | None:
    """Read the legal-basis slot (``;``-joined values): add its consents, return its assessment reference.

    An unmapped value is an issue on both channels, never a basis.
    """
    raw = r.first(om.legal_basis)
    if raw is None:
        return None
    lia: str | None = None
    for value in (part.strip() for part in str(raw).split(";")):
        if not value:
            continue
        basis: LegalBasis | None = compiled.lookup(compiled.mapping.legal_bases, value)
        if basis is None:
            r.issues["unmapped_legal_basis"] = "both"
        elif basis.kind == "consent":
            given = r.date(
                om.legal_basis_date, channel="both", code="unreadable_legal_basis_date", modified=modified
            )
            for channel in basis.channels:
                consent = Consent(channel=channel, date=given or modified)
                if consent not in consents:
                    consents.append(consent)
        elif basis.kind == "legitimate_interest" and lia is None:
            lia = basis.lia_ref
    return lia


def facts_from_record(
    compiled: CompiledMapping, object_type: str, record_id: str, fields: Mapping[str, Any], *, modified: date
) -> ContactFacts:
    """Translate one CRM record into ContactFacts under ``compiled``'s mapping.

    ``modified`` dates what a checkbox says without a date. Pass a date our own write-back does not move (the
    record's creation date where the CRM gives it); a ticked consent checkbox then counts as that old.
    """
    mapping = compiled.mapping
    om: ObjectMapping = mapping.objects[object_type]
    r = _Reader(fields)

    country = country_code(r.first(om.country), mapping.countries)
    entity = _entity(compiled, r.first(om.company), r.first(om.legal_form))

    sources: list[Source] = []
    source_date = r.date(om.source_date, channel="both", code="unreadable_source_date", modified=modified)
    raw_source = r.source(om.source)
    if raw_source is not None:
        kind = compiled.lookup_first(mapping.sources, raw_source)
        if kind is None:
            r.issues["unmapped_source"] = "both"
            kind = SourceKind.UNKNOWN
        sources.append(Source(kind=kind, date=source_date))
    if om.fixed_source is not None:
        sources.append(Source(kind=om.fixed_source))

    relation = None
    raw_relation = r.first(om.relationship)
    if raw_relation is not None:
        relation = compiled.lookup(mapping.relationships, str(raw_relation))
        if relation is None:
            r.issues["unmapped_relationship"] = "both"
    if relation in _RELATION_SOURCES:
        sources.append(Source(kind=_RELATION_SOURCES[relation]))

    last_sale = r.date(om.last_sale, channel="both", code="unreadable_last_sale", modified=modified)
    customer = None
    if relation in ("customer", "former_customer") or last_sale is not None:
        d = mapping.defaults
        customer = Customer(
            paid=d.customer_paid,
            last_sale=last_sale,
            relationship_end=last_sale if relation == "former_customer" else None,
            informed_at_collection=d.customer_informed_at_collection,
            optout_in_every_message=d.optout_in_every_message,
            similar_offer=d.similar_offer,
        )

    email = Email()
    raw_email = r.first(om.email)
    if raw_email is not None:
        try:
            email = Email(
                kind=email_kind(
                    raw_email, free_mail=compiled.free_mail, role_mailboxes=compiled.role_mailboxes
                )
            )
        except Unreadable:
            r.issues["invalid_email"] = "email"

    call_target = CallTarget.COMPANY_LINE_NAMED
    for phone in om.phones:
        number = fields.get(phone.field)
        if number is None or number == "":
            continue
        if phone_is_valid(number, country):
            call_target = phone.target
        else:
            r.issues["invalid_phone"] = "phone"
        break

    consents = []
    for channel, names in (("email", om.email_consent_date), ("phone", om.phone_consent_date)):
        given = r.date(names, channel=channel, code=f"unreadable_{channel}_consent", modified=modified)
        if given is not None:
            consents.append(Consent(channel=channel, date=given))
    basis_lia = _legal_basis(compiled, om, r, consents, modified=modified)

    # A ticked opt-out checkbox is in force now: dated no earlier than any consent the record holds, so that
    # no recorded consent outranks it, and otherwise by ``modified`` — a stable date, so our own write-back
    # (which moves the record's modification time) never changes the facts.
    in_force = max([modified, *(consent.date for consent in consents)])
    lia = r.first(om.lia_ref)
    return ContactFacts(
        id=record_id,
        country=country,
        entity_type=entity,
        sources=tuple(sources),
        email=email if email.kind is not EmailKind.NONE or raw_email is None else Email(),
        consents=tuple(consents),
        customer=customer,
        optout_email=r.date(
            om.optout_email, channel="email", code="unreadable_email_optout", modified=in_force
        ),
        optout_phone=r.date(
            om.optout_phone, channel="phone", code="unreadable_phone_optout", modified=in_force
        ),
        objection=r.date(om.objection, channel="both", code="unreadable_objection", modified=in_force),
        call_target=call_target,
        lia_ref=str(lia) if lia is not None else basis_lia,
        issues=tuple(DataIssue(channel=ch, code=code) for code, ch in sorted(r.issues.items())),
    )
