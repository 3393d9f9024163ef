"""CRM record + mapping -> ContactFacts. Pure: no I/O, no clock.

Anything missing or unreadable lowers certainty and never raises a permission: an unknown picklist value or a
malformed e-mail or phone becomes a DataIssue (the policy closes that channel with review); an unknown country
or entity type stays unknown (the policy reviews the record). Issue codes name the field, never its value.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from functools import cached_property, partial
from typing import Any

from connector.mapping.consent_records import RECORDS_FIELD, ConsentRecordReading, read_consent_records
from connector.mapping.schema import LegalBasis, MappingFile, ObjectMapping, SourceField
from connector.mapping.subscriptions import STATUSES_FIELD, StatusReading, read_statuses
from connector.mapping.values import (
    Unreadable,
    as_bool,
    as_date,
    country_by_folded_name,
    email_kind,
    folded_names,
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
    EntityType,
    Screening,
    Source,
    SourceKind,
)

__all__ = ["CompiledMapping", "RecordReading", "facts_from_record", "read_record"]

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
    def countries(self) -> dict[str, str]:
        """The mapping's country names, case-folded, -> codes."""
        return folded_names(self.mapping.countries)

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

    @cached_property
    def legal_form_kinds(self) -> dict[str, EntityType]:
        """Folded legal form -> its kind (the first listed where one is listed twice)."""
        kinds: dict[str, EntityType] = {}
        for form, kind in self.legal_forms:
            kinds.setdefault(form, kind)
        return kinds

    def legal_form_in(self, key: str) -> EntityType | None:
        """The kind of the longest legal form that ``key`` (folded) is or ends with as whole words: its word
        suffixes from the longest down are looked up, as the longest-first list would match them."""
        kinds = self.legal_form_kinds
        found = kinds.get(key)
        space = key.find(" ")
        while found is None and space != -1:
            found = kinds.get(key[space + 1 :])
            space = key.find(" ", space + 1)
        return found

    def lookup(self, table: Mapping[str, Any], value: str) -> Any | None:
        if value in table:
            return table[value]
        folded = value.strip().casefold()
        return next((v for k, v in table.items() if k.strip().casefold() == folded), None)

    def lookup_first(self, table: Mapping[str, Any], keys: tuple[str, ...]) -> Any | None:
        """The entry of the first key found (a drill-down key before its plain value)."""
        return next((found for key in keys if (found := self.lookup(table, key)) is not None), None)


class _Record:
    """One record's raw fields under its object's mapping; its readers collect issues instead of raising."""

    def __init__(
        self, compiled: CompiledMapping, object_type: str, fields: Mapping[str, Any], *, modified: date
    ) -> None:
        self.compiled, self.mapping = compiled, compiled.mapping
        self.om: ObjectMapping = compiled.mapping.objects[object_type]
        self.fields, self.modified = fields, modified
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

    def date(self, names: list[str], *, channel: str, code: str, modified: date | None = None) -> date | None:
        """A date slot; a true checkbox is dated ``modified`` (by default the record's stable date)."""
        value = self.first(names)
        if value is None:
            return None
        if isinstance(value, bool) or (isinstance(value, str) and value.lower() in ("true", "false")):
            try:
                return (modified or self.modified) if as_bool(value) else None
            except Unreadable:
                pass
        try:
            return as_date(value)
        except Unreadable:
            self.issues[code] = channel
            return None


def _country(r: _Record) -> str | None:
    return country_by_folded_name(r.first(r.om.country), r.compiled.countries)


def _entity(r: _Record) -> EntityType:
    """The legal form found in the legal-form field or the company name; else what the mapping assumes."""
    company, legal_form = r.first(r.om.company), r.first(r.om.legal_form)
    for text in (legal_form, company):
        if isinstance(text, str) and text.strip():
            kind = r.compiled.legal_form_in(legal_form_key(text))
            if kind is not None:
                return kind
    if not (isinstance(company, str) and company.strip()):
        return r.mapping.entity.without_company
    return r.mapping.entity.company_without_legal_form


def _relation(r: _Record) -> str | None:
    """The mapped relationship (customer, partner, …); an unmapped value is an issue on both channels."""
    raw = r.first(r.om.relationship)
    if raw is None:
        return None
    relation: str | None = r.compiled.lookup(r.mapping.relationships, str(raw))
    if relation is None:
        r.issues["unmapped_relationship"] = "both"
    return relation


def _sources(r: _Record, relation: str | None) -> tuple[Source, ...]:
    """The lead source (dated), the object's fixed source, and the source a relationship implies."""
    sources: list[Source] = []
    source_date = r.date(r.om.source_date, channel="both", code="unreadable_source_date")
    raw_source = r.source(r.om.source)
    if raw_source is not None:
        kind = r.compiled.lookup_first(r.mapping.sources, raw_source)
        if kind is None:
            r.issues["unmapped_source"] = "both"
            kind = SourceKind.UNKNOWN
        sources.append(Source(kind=kind, date=source_date))
    if r.om.fixed_source is not None:
        sources.append(Source(kind=r.om.fixed_source))
    if relation in _RELATION_SOURCES:
        sources.append(Source(kind=_RELATION_SOURCES[relation]))
    return tuple(sources)


def _customer(r: _Record, relation: str | None) -> Customer | None:
    """A customer (or former one) by relationship or by a last sale; the mapping's defaults fill the rest."""
    last_sale = r.date(r.om.last_sale, channel="both", code="unreadable_last_sale")
    if relation not in ("customer", "former_customer") and last_sale is None:
        return None
    d = r.mapping.defaults
    return Customer(
        paid=d.customer_paid,
        last_sale=last_sale,
        relationship_end=last_sale if relation == "former_customer" else None,
        informed_at_collection=d.customer_informed_at_collection,
        optout_in_every_message=d.optout_in_every_message,
        similar_offer=d.similar_offer,
    )


def _email(r: _Record) -> Email:
    """The kind of address (named, role, free mail); a malformed one is an e-mail issue and no address."""
    raw = r.first(r.om.email)
    if raw is None:
        return Email()
    try:
        kind = email_kind(raw, free_mail=r.compiled.free_mail, role_mailboxes=r.compiled.role_mailboxes)
    except Unreadable:
        r.issues["invalid_email"] = "email"
        return Email()
    return Email(kind=kind)


def _phones(r: _Record, country: str | None) -> tuple[CallTarget, tuple[str, ...]]:
    """What a call reaches (the first filled phone field decides; an invalid number is a phone issue), and
    every filled phone number as the CRM holds it: the numbers the do-not-call registers are asked about."""
    call_target = CallTarget.COMPANY_LINE_NAMED
    for phone in r.om.phones:
        number = r.fields.get(phone.field)
        if number is None or number == "":
            continue
        if phone_is_valid(number, country):
            call_target = phone.target
        else:
            r.issues["invalid_phone"] = "phone"
        break
    numbers = tuple(str(r.fields[phone.field]) for phone in r.om.phones if r.fields.get(phone.field))
    return call_target, numbers


def _consents(r: _Record) -> tuple[list[Consent], str | None]:
    """The dated consents per channel and those the legal-basis slot records; and that slot's assessment."""
    consents = []
    for channel, names in (("email", r.om.email_consent_date), ("phone", r.om.phone_consent_date)):
        given = r.date(names, channel=channel, code=f"unreadable_{channel}_consent")
        if given is not None:
            consents.append(Consent(channel=channel, date=given))
    return consents, _legal_basis(r, consents)


def _legal_basis(r: _Record, consents: list[Consent]) -> str | None:
    """Read the legal-basis slot (``;``-joined values): add its consents, return its assessment reference.

    An unmapped value is an issue on both channels, never a basis.
    """
    raw = r.first(r.om.legal_basis)
    if raw is None:
        return None
    lia: str | None = None
    for value in (part.strip() for part in str(raw).split(";")):
        if not value:
            continue
        basis: LegalBasis | None = r.compiled.lookup(r.mapping.legal_bases, value)
        if basis is None:
            r.issues["unmapped_legal_basis"] = "both"
        elif basis.kind == "consent":
            given = r.date(r.om.legal_basis_date, channel="both", code="unreadable_legal_basis_date")
            for channel in basis.channels:
                consent = Consent(channel=channel, date=given or r.modified)
                if consent not in consents:
                    consents.append(consent)
        elif basis.kind == "legitimate_interest" and lia is None:
            lia = basis.lia_ref
    return lia


def _statuses(r: _Record, consents: list[Consent]) -> StatusReading:
    """Read the subscription statuses the adapter attached (see ``subscriptions.py``): add their consents and
    issues; their opt-outs and assessment are returned."""
    held = r.fields.get(STATUSES_FIELD)
    if not held or not r.mapping.subscriptions:
        return StatusReading()
    reading = read_statuses(
        held, r.mapping.subscriptions, r.mapping.legal_bases, lookup=r.compiled.lookup, fallback=r.modified
    )
    consents.extend(c for c in reading.consents if c not in consents)
    for code, channel in reading.issues.items():
        r.issues.setdefault(code, channel)
    return reading


def _consent_records(r: _Record, consents: list[Consent]) -> ConsentRecordReading:
    """Read the consent records the adapter attached (see ``consent_records.py``): add their consents; their
    opt-outs are returned."""
    held = r.fields.get(RECORDS_FIELD)
    if not held or not r.mapping.data_use_purposes:
        return ConsentRecordReading()
    reading = read_consent_records(
        held, r.mapping.data_use_purposes, lookup=r.compiled.lookup, fallback=r.modified
    )
    consents.extend(c for c in reading.consents if c not in consents)
    return reading


def _later(first: date | None, second: date | None) -> date | None:
    """The later of two optional dates."""
    return max(first, second) if first is not None and second is not None else first or second


@dataclass(frozen=True, slots=True)
class RecordReading:
    """One record read under the mapping: every fact but the register screenings, and the numbers to screen.

    Screening is a lookup the pure mapping does not make. The caller screens ``phones`` (with ``country`` as
    their default region) and builds the facts once with what it found: ``reading.facts(dnc=found)``.
    """

    record_id: str
    country: str | None
    phones: tuple[str, ...]
    """The record's filled phone numbers as the CRM holds them, in the mapping's order."""
    build: partial[ContactFacts]

    def facts(self, *, dnc: Sequence[Screening] = ()) -> ContactFacts:
        """The record's ContactFacts with the given register screenings."""
        return self.build(dnc=tuple(dnc))


def read_record(
    compiled: CompiledMapping, object_type: str, record_id: str, fields: Mapping[str, Any], *, modified: date
) -> RecordReading:
    """Read one CRM record under ``compiled``'s mapping: one reader per fact.

    ``modified`` dates what a checkbox says without a date. Pass a date our own write-back does not move (the
    record's creation date where the CRM gives it); a ticked consent checkbox then counts as that old.
    """
    r = _Record(compiled, object_type, fields, modified=modified)
    country = _country(r)
    relation = _relation(r)
    call_target, phones = _phones(r, country)
    consents, basis_lia = _consents(r)
    statuses = _statuses(r, consents)
    records = _consent_records(r, consents)
    # A ticked opt-out checkbox is in force now: dated no earlier than any consent the record holds, so that
    # no recorded consent outranks it, and otherwise by ``modified`` — a stable date, so our own write-back
    # (which moves the record's modification time) never changes the facts.
    in_force = max([modified, *(consent.date for consent in consents)])
    lia = r.first(r.om.lia_ref)
    build = partial(
        ContactFacts,
        id=record_id,
        country=country,
        entity_type=_entity(r),
        sources=_sources(r, relation),
        email=_email(r),
        consents=tuple(consents),
        customer=_customer(r, relation),
        optout_email=_later(
            r.date(r.om.optout_email, channel="email", code="unreadable_email_optout", modified=in_force),
            _later(statuses.optout_email, records.optout_email),
        ),
        optout_phone=_later(
            r.date(r.om.optout_phone, channel="phone", code="unreadable_phone_optout", modified=in_force),
            _later(statuses.optout_phone, records.optout_phone),
        ),
        objection=r.date(r.om.objection, channel="both", code="unreadable_objection", modified=in_force),
        call_target=call_target,
        lia_ref=str(lia) if lia is not None else basis_lia or statuses.lia_ref,
    )
    issues = tuple(DataIssue(channel=ch, code=code) for code, ch in sorted(r.issues.items()))
    return RecordReading(record_id, country, phones, partial(build, issues=issues))


def facts_from_record(
    compiled: CompiledMapping, object_type: str, record_id: str, fields: Mapping[str, Any], *, modified: date
) -> ContactFacts:
    """The record's ContactFacts under ``compiled``'s mapping, without register screenings (see `read_record`)."""
    return read_record(compiled, object_type, record_id, fields, modified=modified).facts()
