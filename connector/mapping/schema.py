"""The pydantic model of a mapping file (``mappings/<crm>.yaml``), which CRM admins edit.

Every slot names one or more CRM fields (parent fields as ``Account.Type``); the first non-empty one wins.
Picklist value tables translate CRM values into canonical ones. What the mapping cannot tell, the facts leave
unknown, and the policy then decides conservatively with review.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from connector.models import CallTarget, EntityType, SourceKind

__all__ = ["Defaults", "EntityRules", "MappingFile", "ObjectMapping", "PhoneField", "Relation", "WriteBack"]

Relation = Literal["customer", "former_customer", "prospect", "partner", "supplier", "other"]


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class PhoneField(_Strict):
    field: str
    target: CallTarget = CallTarget.COMPANY_LINE_NAMED


class ObjectMapping(_Strict):
    """Which fields of one CRM object feed which fact. Lists are tried in order."""

    email: list[str] = Field(default_factory=list)
    phones: list[PhoneField] = Field(default_factory=list)
    country: list[str] = Field(default_factory=list)
    company: list[str] = Field(default_factory=list)
    legal_form: list[str] = Field(default_factory=list)
    relationship: list[str] = Field(default_factory=list)
    source: list[str] = Field(default_factory=list)
    source_date: list[str] = Field(default_factory=list)
    optout_email: list[str] = Field(default_factory=list)
    optout_phone: list[str] = Field(default_factory=list)
    objection: list[str] = Field(default_factory=list)
    email_consent_date: list[str] = Field(default_factory=list)
    phone_consent_date: list[str] = Field(default_factory=list)
    last_sale: list[str] = Field(default_factory=list)
    lia_ref: list[str] = Field(default_factory=list)
    fixed_source: SourceKind | None = None
    """A source that every record of this object has (e.g. Lead from a web-to-lead form), besides the field."""

    def fields(self) -> list[str]:
        """Every CRM field this object mapping reads."""
        slots = (
            self.email, self.country, self.company, self.legal_form, self.relationship, self.source,
            self.source_date, self.optout_email, self.optout_phone, self.objection, self.email_consent_date,
            self.phone_consent_date, self.last_sale, self.lia_ref,
        )  # fmt: skip
        names = [name for slot in slots for name in slot] + [p.field for p in self.phones]
        return list(dict.fromkeys(names))


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
    crm: Literal["salesforce", "hubspot"]
    version: Literal[1] = 1
    objects: dict[str, ObjectMapping]
    sources: dict[str, SourceKind]
    relationships: dict[str, Relation] = Field(default_factory=dict)
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
