"""Render the seeded org's records from `people.person(seed, index)`: pure functions, no storage.

Contact i and Account i come from person i; Lead j from person `contacts + j`; Opportunity i is the won deal
of person i (when there is one); Individual k belongs to the person k. Values are Python values (bool, str,
date, aware datetime, None); the web layer formats them the way Salesforce does.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from crm_sandbox.people import Person, person, relation_of
from crm_sandbox.salesforce.ids import make_id

_COUNTRY_NAMES = {
    "NL": ("Netherlands", "The Netherlands", "NL", "Nederland"), "DE": ("Germany", "Deutschland", "DE"),
    "BE": ("Belgium", "België", "BE"), "FR": ("France", "FR"), "GB": ("United Kingdom", "UK", "GB"),
    "US": ("United States", "USA"), "CH": ("Switzerland",), "ES": ("Spain",), "IT": ("Italy",),
    "AT": ("Austria", "Österreich"), "SE": ("Sweden",), "IE": ("Ireland",),
}  # fmt: skip
_LEAD_SOURCE = {
    "web_form_optin": ("Web", "Website contact form, newsletter box ticked"),
    "whitepaper_optin": ("Whitepaper", "Whitepaper download, opt-in ticked"),
    "whitepaper_no_optin": ("Whitepaper", "Whitepaper download, no opt-in"),
    "event_optin": ("Webinar", "Webinar registration, opt-in ticked"),
    "event_list": ("Trade Show", "Trade show visitor list"),
    "purchased_list": ("Purchased List", "Purchased address list"),
    "linkedin_manual": ("LinkedIn", "Found on LinkedIn by sales rep"),
    "linkedin_tool": ("LinkedIn", "LinkedIn scraping tool export"),
    "public_registry": ("KvK", "Chamber of commerce registry"),
    "public_website": ("Other", "Company website"),
    "supplier": ("Supplier", "Supplier contact"),
    "existing_customer": ("Phone Inquiry", "Existing customer"),
    "partner": ("Partner Referral", "Partner contact"),
    "referral": ("Partner Referral", "Referred by a customer"),
    "personal_acquaintance": ("Other", "Personal network"),
    "unknown": (None, None),
}
_MESSY_LEAD_SOURCES = ("Beurs 2019", "Koude acquisitie", "linkedin ", "Website formulier", "Messe", "?")
_ACCOUNT_TYPES = {
    "customer": ("Customer - Direct", "Customer - Channel", "Customer"),
    "former_customer": ("Customer - Direct", "Customer", "Other"),
    "prospect": ("Prospect",),
    "partner": ("Partner", "Installation Partner", "Technology Partner", "Channel Partner / Reseller"),
    "supplier": ("Supplier", "Vendor"),
    "other": ("Other",),
}
_MESSY_ACCOUNT_TYPES = ("Klant", "Ex-customer", "Lieferant", "prospect", "Reseller?")


def _pick(options: tuple[str, ...], index: int, salt: int) -> str:
    return options[(index * 2654435761 + salt * 40503) % 1000003 % len(options)]


SALES_USER_ID = make_id("005", 7)
"""The salesperson who last edited every seeded record (the integration user is created at start-up)."""


def _stamp(moment: datetime) -> datetime:
    if moment.tzinfo is UTC and not moment.microsecond:  # a person's times are: nothing to do
        return moment
    return moment.astimezone(UTC).replace(microsecond=0)


def _system(prefix: str, index: int, p: Person) -> dict[str, Any]:
    return {
        "Id": make_id(prefix, index), "IsDeleted": False, "CreatedDate": _stamp(p.created),
        "LastModifiedDate": _stamp(p.modified), "SystemModstamp": _stamp(p.modified),
        "LastModifiedById": SALES_USER_ID,
    }  # fmt: skip


def country_name(p: Person) -> str | None:
    """The free-text country a CRM user typed for this person (name, native name or code)."""
    if p.country is None:
        return None
    return _pick(_COUNTRY_NAMES.get(p.country, (p.country,)), p.index, 7)


def has_individual(p: Person) -> bool:
    """Whether the person has an Individual record (most do; everyone who objected does)."""
    return p.objection is not None or (p.index * 2654435761 >> 7) % 10 < 7


def individual_id(seed: int, index: int) -> str | None:
    """`IndividualId` of person `index`'s seeded Contact or Lead (as `contact` and `lead` render it), drawing
    the person only when the index alone does not tell."""
    if (index * 2654435761 >> 7) % 10 < 7 or person(seed, index).objection is not None:
        return make_id("0PK", index)
    return None


def _person_fields(p: Person) -> dict[str, Any]:
    lead_source, detail = _LEAD_SOURCE[p.source]
    if p.messy and p.index % 3 == 0:
        lead_source = _pick(_MESSY_LEAD_SOURCES, p.index, 3)
    return {
        "FirstName": p.first_name, "LastName": p.last_name, "Name": f"{p.first_name} {p.last_name}",
        "Title": None, "Email": p.email,
        "Phone": p.phone if p.entity_type != "consumer" else None,
        "MobilePhone": p.phone if p.entity_type == "consumer" else None,
        "LeadSource": lead_source, "HasOptedOutOfEmail": p.optout_email is not None,
        "HasOptedOutOfFax": False, "DoNotCall": p.optout_phone is not None,
        "IndividualId": make_id("0PK", p.index) if has_individual(p) else None,
        "Lead_Source_Detail__c": detail, "Lead_Source_Date__c": p.source_date,
        "Email_Opt_In_Date__c": p.email_consent, "Phone_Opt_In_Date__c": p.phone_consent,
    }  # fmt: skip


def contact(seed: int, index: int) -> dict[str, Any]:
    """Seeded Contact number `index`."""
    p = person(seed, index)
    record = _system("003", index, p) | _person_fields(p)
    record["AccountId"] = make_id("001", index) if p.company else None
    record["HomePhone"] = record["OtherPhone"] = None
    record["MailingCountry"] = country_name(p)
    return record


_DEALT = ("customer", "former_customer")
"""The relations with a won deal (`Person.last_won_deal`)."""


def lead_converted(seed: int, contacts: int, index: int) -> bool:
    """`IsConverted` of seeded Lead `index` (as `lead` renders it), from the person's relation alone."""
    return index % 3 == 0 and contacts > 0 and relation_of(seed, contacts + index)[1] in _DEALT


def lead(seed: int, contacts: int, index: int) -> dict[str, Any]:
    """Seeded Lead number `index` (person `contacts + index`); a third of past customers are converted."""
    p = person(seed, contacts + index)
    record = _system("00Q", index, p) | _person_fields(p)
    record["IndividualId"] = make_id("0PK", contacts + index) if has_individual(p) else None
    converted = p.relation in _DEALT and index % 3 == 0 and contacts > 0
    record.update(
        Company=p.company or f"{p.last_name} (private)", Country=country_name(p), IsConverted=converted,
        Status="Closed - Converted" if converted else _pick(LEAD_STATUS_OPEN, index, 5),
        ConvertedDate=p.modified.date() if converted else None,
        ConvertedContactId=make_id("003", index % contacts) if converted else None,
        ConvertedAccountId=None,
    )  # fmt: skip
    return record


LEAD_STATUS_OPEN = ("Open - Not Contacted", "Working - Contacted", "Closed - Not Converted")


def account(seed: int, index: int) -> dict[str, Any] | None:
    """Seeded Account number `index`: the company of person `index`, or None for consumers."""
    if relation_of(seed, index)[0] == "consumer":  # no company: known before the person is drawn whole
        return None
    p = person(seed, index)
    if p.company is None:
        return None
    kind = _pick(_ACCOUNT_TYPES[p.relation], index, 11)
    if p.messy and p.index % 2 == 0:
        kind = _pick(_MESSY_ACCOUNT_TYPES, index, 13)
    return _system("001", index, p) | {
        "Name": p.company, "Type": kind, "BillingCountry": country_name(p), "Phone": None, "Website": None,
        "Legal_Form__c": p.legal_form,
    }  # fmt: skip


def opportunity(seed: int, index: int) -> dict[str, Any] | None:
    """Seeded Opportunity number `index`: the latest won deal of person `index`, if any."""
    if relation_of(seed, index)[1] not in _DEALT:  # no won deal: known before the person is drawn whole
        return None
    p = person(seed, index)
    if p.last_won_deal is None:
        return None
    return _system("006", index, p) | {
        "Name": f"{p.company or p.last_name} - deal",
        "AccountId": make_id("001", index) if p.company else None,
        "ContactId": make_id("003", index), "StageName": "Closed Won", "IsWon": True, "IsClosed": True,
        "CloseDate": p.last_won_deal, "Amount": float(1000 + index % 50 * 250), "LeadSource": None,
    }  # fmt: skip


def individual(seed: int, index: int) -> dict[str, Any] | None:
    """Seeded Individual number `index` (the person `index`, contact or lead), if the person has one."""
    p = person(seed, index)
    if not has_individual(p):
        return None
    return _system("0PK", index, p) | {
        "FirstName": p.first_name, "LastName": p.last_name, "BirthDate": None,
        "HasOptedOutSolicit": p.objection is not None, "HasOptedOutTracking": p.objection is not None,
        "HasOptedOutProcessing": False, "HasOptedOutProfiling": p.objection is not None,
        "HasOptedOutGeoTracking": False, "ShouldForget": False, "SendIndividualData": False,
        "CanStorePiiElsewhere": p.index % 4 != 0,
    }  # fmt: skip


def reference_day(moment: datetime) -> date:
    """The UTC calendar day of a moment (used for date literals such as TODAY)."""
    return moment.astimezone(UTC).date()
