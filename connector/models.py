"""The canonical value types: ContactFacts in, Decision out.

These shapes are a public contract (``lawful-crm classify`` reads and writes them as JSON lines, CRM mappings
produce them, the audit store keeps them). Field names and enum values never change; new fields are optional.
Every model is frozen and rejects unknown fields: a misspelt ``objection`` silently ignored would be a permissive
guess, so it is an error instead. For the same reason booleans are booleans only (``"yes"`` or ``0`` is an error,
not a guess) and dates are ``YYYY-MM-DD`` only.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Annotated, Any, Literal, Self

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, StrictBool

__all__ = [
    "Basis",
    "CallTarget",
    "ChannelBasis",
    "Consent",
    "ContactFacts",
    "CountryCode",
    "CrmName",
    "Customer",
    "DataIssue",
    "Decision",
    "Email",
    "EmailKind",
    "EntityType",
    "FieldInfo",
    "FieldUpdate",
    "IsoDate",
    "LawfulUse",
    "Profile",
    "Reason",
    "RecordId",
    "RegisterList",
    "Screening",
    "Source",
    "SourceKind",
]

_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_COUNTRY = re.compile(r"[A-Z]{2}")


def _parse_iso_date(value: Any) -> Any:
    """Accept only ``YYYY-MM-DD`` strings (or dates): no timestamps, no numbers, no other formats."""
    if isinstance(value, date) or value is None:
        return value
    if not isinstance(value, str) or not _ISO_DATE.fullmatch(value):
        raise ValueError("expected a date as YYYY-MM-DD")
    return date.fromisoformat(value)


def _parse_country(value: Any) -> Any:
    """Accept an ISO 3166-1 alpha-2 code in any case; ``UK`` is read as ``GB``."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError("expected an ISO 3166-1 alpha-2 country code")
    code = value.strip().upper()
    if not _COUNTRY.fullmatch(code):
        raise ValueError("expected an ISO 3166-1 alpha-2 country code such as NL or GB")
    return "GB" if code == "UK" else code


IsoDate = Annotated[date, BeforeValidator(_parse_iso_date)]
CountryCode = Annotated[str, BeforeValidator(_parse_country)]


def _check_record_id(value: str) -> str:
    """Refuse an id that is blank or holds control, format or separator characters: such an id cannot be
    matched to a CRM record, breaks line-oriented output, and can hide what a reader sees."""
    if not value.strip():
        raise ValueError("the id is blank")
    if not value.isprintable():
        raise ValueError("the id contains control or other non-printable characters")
    return value


RecordId = Annotated[str, Field(min_length=1), AfterValidator(_check_record_id)]
"""A record id as ContactFacts accepts it: not blank, printable characters only (spaces allowed inside)."""


class EntityType(StrEnum):
    CONSUMER = "consumer"
    SOLE_TRADER = "sole_trader"
    BUSINESS = "business"
    UNKNOWN = "unknown"


class SourceKind(StrEnum):
    WEB_FORM_OPTIN = "web_form_optin"
    WHITEPAPER_OPTIN = "whitepaper_optin"
    WHITEPAPER_NO_OPTIN = "whitepaper_no_optin"
    EVENT_OPTIN = "event_optin"
    EVENT_LIST = "event_list"
    PURCHASED_LIST = "purchased_list"
    LINKEDIN_MANUAL = "linkedin_manual"
    LINKEDIN_TOOL = "linkedin_tool"
    PUBLIC_REGISTRY = "public_registry"
    PUBLIC_WEBSITE = "public_website"
    SUPPLIER = "supplier"
    EXISTING_CUSTOMER = "existing_customer"
    PARTNER = "partner"
    REFERRAL = "referral"
    PERSONAL_ACQUAINTANCE = "personal_acquaintance"
    UNKNOWN = "unknown"


class EmailKind(StrEnum):
    NAMED_BUSINESS = "named_business"
    ROLE_GENERIC = "role_generic"
    FREE_MAIL = "free_mail"
    NONE = "none"


class CallTarget(StrEnum):
    GENERAL_NUMBER_ROLE = "general_number_role"
    COMPANY_LINE_NAMED = "company_line_named"
    PRIVATE_MOBILE = "private_mobile"


class RegisterList(StrEnum):
    NL_BMNR = "NL_BMNR"
    BE_DNCM = "BE_DNCM"
    UK_TPS = "UK_TPS"
    UK_CTPS = "UK_CTPS"
    FR_BLOCTEL = "FR_BLOCTEL"
    US_DNC = "US_DNC"
    OWN = "OWN"


class Basis(StrEnum):
    CONSENT = "consent"
    SOFT_OPT_IN = "soft_opt_in"
    PUBLISHED_B2B_ADDRESS = "published_b2b_address"
    LEGITIMATE_INTEREST = "legitimate_interest"
    NATIONAL_OPT_OUT_REGIME = "national_opt_out_regime"
    NO_CONSENT_NEEDED_LEGAL_PERSON = "no_consent_needed_legal_person"
    NONE = "none"


class LawfulUse(StrEnum):
    OBJECTED = "objected"
    OPT_IN = "opt_in"
    CUSTOMER = "customer"
    PERSONAL_RELATION = "personal_relation"
    LINKEDIN = "linkedin"
    SUPPLIER = "supplier"
    PUBLIC_REGISTRY = "public_registry"
    PURCHASED_LIST = "purchased_list"
    EVENT_LIST = "event_list"
    PARTNER_REFERRAL = "partner_referral"
    PUBLIC_WEBSITE = "public_website"
    UNKNOWN = "unknown"


class Profile(StrEnum):
    """How contested rules resolve: restrictive with review, or permissive with required actions."""

    CONSERVATIVE = "conservative"
    LEGAL_MINIMUM = "legal_minimum"


class _Value(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    @classmethod
    def trusted(cls, **values: Any) -> Self:
        """Build from values the caller guarantees valid and complete, skipping validation (the policy core's
        hot path builds every Decision this way; its tests check the results against the validating path)."""
        obj = cls.__new__(cls)
        object.__setattr__(obj, "__dict__", values)
        object.__setattr__(obj, "__pydantic_fields_set__", set(values))
        object.__setattr__(obj, "__pydantic_extra__", None)
        object.__setattr__(obj, "__pydantic_private__", None)
        return obj


class Source(_Value):
    kind: SourceKind
    date: IsoDate | None = None


class Email(_Value):
    kind: EmailKind = EmailKind.NONE
    published_for_offers: StrictBool = False


class Consent(_Value):
    channel: Literal["email", "phone"]
    date: IsoDate
    sender_is_us: StrictBool = True
    specific: StrictBool = True
    last_used: IsoDate | None = None
    withdrawn: IsoDate | None = None
    ends: IsoDate | None = None
    """The first day on which the consent no longer holds, fixed in advance when it was recorded (Salesforce's
    ``EffectiveTo``); unlike ``withdrawn`` it closes nothing before that day."""


class Customer(_Value):
    paid: StrictBool = True
    same_entity: StrictBool = True
    last_sale: IsoDate | None = None
    relationship_end: IsoDate | None = None
    informed_at_collection: StrictBool = False
    optout_in_every_message: StrictBool = False
    similar_offer: StrictBool = True


class Screening(_Value):
    list: RegisterList
    listed: StrictBool
    since: IsoDate | None = None
    checked: IsoDate


class DataIssue(_Value):
    """A problem the mapping found in the CRM record (invalid phone, malformed e-mail, unmapped value).

    An issue on a channel closes that channel with ``review_needed`` (rule G8): bad data never yields a
    permissive guess. ``code`` is a short machine word; it never carries the offending value.
    """

    channel: Literal["phone", "email", "both"]
    code: str = Field(min_length=1, max_length=80)


class ContactFacts(_Value):
    """Everything the policy core may know about one contact; CRM-neutral."""

    id: RecordId
    country: CountryCode | None = None
    entity_type: EntityType = EntityType.UNKNOWN
    sources: tuple[Source, ...] = ()
    email: Email = Email()
    consents: tuple[Consent, ...] = ()
    customer: Customer | None = None
    optout_email: IsoDate | None = None
    optout_phone: IsoDate | None = None
    objection: IsoDate | None = None
    dnc: tuple[Screening, ...] = ()
    call_target: CallTarget = CallTarget.COMPANY_LINE_NAMED
    lia_ref: str | None = None
    issues: tuple[DataIssue, ...] = ()


class Reason(_Value):
    """One rule that decided something, in plain words, with its legal citation."""

    rule: str
    channel: Literal["phone", "email", "both"]
    citation: str
    text: str
    code: str | None = None


class ChannelBasis(_Value):
    call: Basis
    email: Basis


class Decision(_Value):
    """The lawful use of one contact; identical facts, policy and ``now`` give an identical Decision."""

    id: str
    lawful_use: LawfulUse
    do_not_cold_call: bool
    email_allowed: bool
    review_needed: bool
    basis: ChannelBasis
    reasons: tuple[Reason, ...]
    required_actions: tuple[str, ...]
    policy: str
    valid_until: IsoDate | None = None
    """The first date after ``now`` on which the same facts give a different decision (the law's calendar,
    a consent going stale, a soft opt-in or a screening running out), or None when no date can change it.
    A flag written from this decision is right until then; the sync decides again on that day."""


# The CRMs and the values the sync exchanges with them: plain dataclasses, since a sync makes millions of them.

CrmName = Literal["salesforce", "hubspot"]
"""The CRMs the connector speaks to: the key of their settings tables, mapping files, adapters, cursors and
audit entries. A new CRM starts here."""


@dataclass(frozen=True, slots=True)
class FieldUpdate:
    """The values to write to one record's own fields (only those that change)."""

    object_type: str
    record_id: str
    values: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class FieldInfo:
    """One field (or property) as the CRM describes it; parent fields are named ``Account.Type``."""

    name: str
    type: str
    """The CRM's own type name: ``picklist``, ``boolean``, ``enumeration``, ``string``, …"""
    writable: bool
    """Whether the connected user or app may update it (field-level security included)."""
    values: tuple[str, ...] | None = None
    """The active picklist or enumeration values; None for free fields."""
