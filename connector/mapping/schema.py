"""The pydantic model of a mapping file (``mappings/<crm>.yaml``), which CRM admins edit.

Every slot names one or more CRM fields (parent fields as ``Account.Type``); the first non-empty one wins.
Picklist value tables translate CRM values into canonical ones. What the mapping cannot tell, the facts leave
unknown, and the policy then decides conservatively with review.

A source slot entry may carry a drill-down field (HubSpot's ``hs_analytics_source`` with
``hs_analytics_source_data_1``): the value is then looked up as ``VALUE/DETAIL`` first (``OFFLINE/IMPORT``),
then as ``VALUE``. A legal-basis slot (HubSpot's ``hs_legal_basis``, several values ``;``-joined) is read
through the ``legal_bases`` table into consents or a legitimate-interest assessment reference.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, field_validator, model_validator

from connector.models import CallTarget, CrmName, EntityType, SourceKind

__all__ = [
    "Defaults",
    "EntityRules",
    "LegalBasis",
    "MappingFile",
    "ObjectMapping",
    "PhoneField",
    "Relation",
    "SourceField",
    "SubscriptionType",
    "WriteBack",
]

Relation = Literal["customer", "former_customer", "prospect", "partner", "supplier", "other"]
ConsentChannel = Literal["email", "phone"]


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class PhoneField(_Strict):
    field: str
    target: CallTarget = CallTarget.COMPANY_LINE_NAMED


class SourceField(_Strict):
    """A source field with an optional drill-down field; ``VALUE/DETAIL`` is looked up before ``VALUE``."""

    field: str
    detail: str | None = None


def _source_entry_kind(value: Any) -> str:
    return "field" if isinstance(value, str) else "with_detail"


SourceEntry = Annotated[
    Annotated[str, Tag("field")] | Annotated[SourceField, Tag("with_detail")],
    Discriminator(_source_entry_kind),
]
"""A field name, or a field with its drill-down field (problems are then reported for that shape only)."""


class LegalBasis(_Strict):
    """What one recorded legal-basis value stands for; a bare word (``consent``) is short for ``{kind: …}``.

    ``consent``: a consent on ``channels``, dated by the object's ``legal_basis_date`` slot (else like an
    undated checkbox). ``legitimate_interest``: the documented assessment ``lia_ref`` covers the record; without
    ``lia_ref`` the value says nothing (a recorded basis is not yet a documented assessment). ``none``: no fact.
    """

    kind: Literal["consent", "legitimate_interest", "none"]
    channels: list[ConsentChannel] = Field(default_factory=lambda: list[ConsentChannel](["email"]))
    lia_ref: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _bare_kind(cls, value: Any) -> Any:
        return {"kind": value} if isinstance(value, str) else value


class SubscriptionType(_Strict):
    """What one subscription type (HubSpot's communication preferences) stands for; a bare channel word
    (``email``) is short for ``{channel: …}``. ``none``: the type is not marketing (service mail, one-to-one
    mail), its statuses say nothing. ``specific: false``: the type bundles mailings a consent cannot be
    specific to (such a consent is not valid)."""

    channel: Literal["email", "phone", "none"]
    specific: bool = True

    @model_validator(mode="before")
    @classmethod
    def _bare_channel(cls, value: Any) -> Any:
        return {"channel": value} if isinstance(value, str) else value


class ObjectMapping(_Strict):
    """Which fields of one CRM object feed which fact. Lists are tried in order."""

    email: list[str] = Field(default_factory=list)
    phones: list[PhoneField] = Field(default_factory=list)
    country: list[str] = Field(default_factory=list)
    company: list[str] = Field(default_factory=list)
    legal_form: list[str] = Field(default_factory=list)
    relationship: list[str] = Field(default_factory=list)
    source: list[SourceEntry] = Field(default_factory=list)
    source_date: list[str] = Field(default_factory=list)
    optout_email: list[str] = Field(default_factory=list)
    optout_phone: list[str] = Field(default_factory=list)
    objection: list[str] = Field(default_factory=list)
    email_consent_date: list[str] = Field(default_factory=list)
    phone_consent_date: list[str] = Field(default_factory=list)
    last_sale: list[str] = Field(default_factory=list)
    lia_ref: list[str] = Field(default_factory=list)
    legal_basis: list[str] = Field(default_factory=list)
    legal_basis_date: list[str] = Field(default_factory=list)
    fixed_source: SourceKind | None = None
    """A source that every record of this object has (e.g. Lead from a web-to-lead form), besides the field."""

    def fields(self) -> list[str]:
        """Every CRM field this object mapping reads."""
        slots = (
            self.email, self.country, self.company, self.legal_form, self.relationship, self.source_fields(),
            self.source_date, self.optout_email, self.optout_phone, self.objection, self.email_consent_date,
            self.phone_consent_date, self.last_sale, self.lia_ref, self.legal_basis, self.legal_basis_date,
        )  # fmt: skip
        names = [name for slot in slots for name in slot] + [p.field for p in self.phones]
        return list(dict.fromkeys(names))

    def source_fields(self) -> list[str]:
        """The source slot's field names, drill-down fields included."""
        names: list[str] = []
        for entry in self.source:
            if isinstance(entry, str):
                names.append(entry)
            else:
                names.extend(n for n in (entry.field, entry.detail) if n is not None)
        return names


class EntityRules(_Strict):
    """How the entity type is derived from the company name and legal form."""

    legal_forms: dict[Literal["business", "sole_trader"], list[str]]
    without_company: EntityType = EntityType.CONSUMER
    company_without_legal_form: EntityType = EntityType.UNKNOWN


class Defaults(_Strict):
    """Facts about the organisation's own processes that no CRM field holds; the admin asserts them."""

    customer_informed_at_collection: bool = False
    optout_in_every_message: bool = False
    similar_offer: bool = True
    customer_paid: bool = True


class WriteBack(_Strict):
    """The connector's own fields. Nothing else is ever written unless listed in ``mirror``."""

    do_not_cold_call: str
    email_allowed: str
    lawful_use: str
    reason: str
    review: str
    checked: str
    reason_max_length: int = Field(255, ge=40)
    mirror: dict[str, Literal["do_not_cold_call", "not_email_allowed"]] = Field(default_factory=dict)


class MappingFile(_Strict):
    crm: CrmName
    version: Literal[1] = 1
    objects: dict[str, ObjectMapping]
    sources: dict[str, SourceKind]
    relationships: dict[str, Relation] = Field(default_factory=dict)
    legal_bases: dict[str, LegalBasis] = Field(default_factory=dict)
    subscriptions: dict[str, SubscriptionType] = Field(default_factory=dict)
    """Subscription types by name or id (HubSpot); their statuses are read only when this table is set."""
    data_use_purposes: dict[str, list[ConsentChannel]] = Field(default_factory=dict)
    """Data use purposes by name (Salesforce's ``DataUsePurpose.Name``) and the channels on which their consent
    records count as marketing (``[]``: not marketing); the records are read only when this table is set."""
    countries: dict[str, str] = Field(default_factory=dict)
    entity: EntityRules
    defaults: Defaults = Defaults()
    free_mail_domains: list[str] = Field(default_factory=list)
    role_mailboxes: list[str] = Field(default_factory=list)
    writeback: WriteBack

    @field_validator("countries")
    @classmethod
    def _iso_codes(cls, value: dict[str, str]) -> dict[str, str]:
        bad = sorted(
            name for name, code in value.items() if len(code) != 2 or not code.isalpha() or not code.isupper()
        )
        if bad:
            raise ValueError(f"country codes must be ISO alpha-2 in upper case (entries: {', '.join(bad)})")
        return value

    @field_validator("objects")
    @classmethod
    def _some_object(cls, value: dict[str, ObjectMapping]) -> dict[str, ObjectMapping]:
        if not value:
            raise ValueError("at least one object must be mapped")
        return value
