"""Render a generated ``Person`` as HubSpot contact and company property values.

Pure and deterministic: the same person always renders the same strings, so 1,000,000 contacts need no storage
beyond what was written through the API. Values are what HubSpot sends: strings or null, booleans
``"true"``/``"false"``, datetimes as ISO-8601 with milliseconds and ``Z``, date properties as ``YYYY-MM-DD``.
``country`` is free text as in real portals (an English name, sometimes the raw code);
``hs_country_region_code`` is the ISO code.
"""

from __future__ import annotations

import zlib
from datetime import date

from crm_sandbox.hubspot.properties import iso_ms
from crm_sandbox.people import Person

COUNTRY_NAMES = {
    "NL": "Netherlands",
    "DE": "Germany",
    "BE": "Belgium",
    "FR": "France",
    "GB": "United Kingdom",
    "AT": "Austria",
    "CH": "Switzerland",
    "ES": "Spain",
    "IT": "Italy",
    "US": "United States",
    "IE": "Ireland",
    "LU": "Luxembourg",
    "DK": "Denmark",
    "SE": "Sweden",
    "PL": "Poland",
}

# Canonical source kind -> (hs_analytics_source, hs_analytics_source_data_1)
ANALYTICS = {
    "web_form_optin": ("ORGANIC_SEARCH", "google"),
    "whitepaper_optin": ("PAID_SOCIAL", "linkedin"),
    "whitepaper_no_optin": ("PAID_SEARCH", "google"),
    "event_optin": ("OFFLINE", "CRM_UI"),
    "event_list": ("OFFLINE", "IMPORT"),
    "purchased_list": ("OFFLINE", "IMPORT"),
    "linkedin_manual": ("OFFLINE", "CRM_UI"),
    "linkedin_tool": ("OFFLINE", "INTEGRATION"),
    "public_registry": ("OFFLINE", "IMPORT"),
    "public_website": ("OFFLINE", "CRM_UI"),
    "supplier": ("OFFLINE", "CRM_UI"),
    "existing_customer": ("OFFLINE", "API"),
    "partner": ("OFFLINE", "IMPORT"),
    "referral": ("REFERRALS", "referral"),
    "personal_acquaintance": ("OFFLINE", "CRM_UI"),
    "unknown": ("DIRECT_TRAFFIC", None),
}

LIFECYCLE = {
    "prospect": ("lead", "marketingqualifiedlead", "salesqualifiedlead", "subscriber", "opportunity"),
    "customer": ("customer",),
    "former_customer": ("customer", "other"),
    "partner": ("evangelist", "other"),
    "supplier": ("other",),
    "other": ("other", "lead"),
}

COMPANY_TYPE = {
    "prospect": ("PROSPECT",),
    "customer": ("CUSTOMER",),
    "former_customer": ("CUSTOMER", "OTHER"),
    "partner": ("PARTNER", "RESELLER"),
    "supplier": ("VENDOR", "SUPPLIER"),
    "other": ("OTHER",),
}

JOB_TITLES = ("Director", "Marketing Manager", "Inkoper", "Geschäftsführer", "CFO", "Office Manager", None)


def pick(options: tuple[str, ...], key: str) -> str:
    """Deterministically pick one option by a stable hash of ``key`` (not Python's salted ``hash``)."""
    return options[zlib.crc32(key.encode()) % len(options)]


def _date(value: date | None) -> str | None:
    return value.isoformat() if value else None


def legal_basis(p: Person) -> str | None:
    """The ``hs_legal_basis`` value a portal admin would plausibly have set for this person."""
    if p.email_consent:
        return "Freely given consent from contact"
    if p.relation in ("customer", "former_customer"):
        return "Legitimate interest – existing customer"
    if p.relation in ("partner", "supplier"):
        return "Legitimate interest - other"
    if p.relation == "prospect" and p.source not in ("unknown", "purchased_list"):
        return "Legitimate interest – prospect/lead"
    return None if p.index % 3 else "Not applicable"


def contact_properties(p: Person, contact_id: str, company_id: str | None) -> dict[str, str | None]:
    """All seeded contact property values of ``p``."""
    source, data_1 = ANALYTICS.get(p.source, ("OFFLINE", None))
    key = f"{p.index}"
    mobile = p.phone is not None and p.index % 4 == 0
    stage = pick(LIFECYCLE.get(p.relation, ("other",)), key)
    if p.messy and p.index % 5 == 0:
        stage = "1234567"  # a custom stage id the mapping has never seen
    country = p.country
    country_text = (
        None if country is None else (country if p.index % 10 == 0 else COUNTRY_NAMES.get(country, country))
    )
    props: dict[str, str | None] = {
        "hs_object_id": contact_id,
        "email": p.email,
        "firstname": p.first_name,
        "lastname": p.last_name,
        "phone": None if mobile else p.phone,
        "mobilephone": p.phone if mobile else None,
        "company": p.company,
        "jobtitle": pick(JOB_TITLES, key) if p.company else None,  # type: ignore[arg-type]
        "country": country_text,
        "hs_country_region_code": country,
        "associatedcompanyid": company_id,
        "createdate": iso_ms(p.created),
        "lastmodifieddate": iso_ms(p.modified),
        "hs_lastmodifieddate": iso_ms(p.modified),
        "lifecyclestage": stage,
        "hs_lead_status": "NEW" if p.relation == "prospect" else None,
        "hs_legal_basis": legal_basis(p),
        "hs_analytics_source": source,
        "hs_analytics_source_data_1": data_1,
        "hs_analytics_source_data_2": None,
        "hs_latest_source": source if p.index % 5 else "DIRECT_TRAFFIC",
        "hs_latest_source_data_1": data_1 if p.index % 5 else None,
        "hs_email_optout": "true" if p.optout_email else "false",
        "hs_marketable_status": "false" if p.optout_email or p.objection else "true",
        "recent_deal_close_date": iso_ms_date(p.last_won_deal),
        "lead_source": p.source if not (p.messy and p.index % 7 == 0) else None,
        "lead_source_date": _date(p.source_date),
        "legal_form": p.legal_form,
        "email_consent_date": _date(p.email_consent),
        "phone_consent_date": _date(p.phone_consent),
        "phone_optout_date": _date(p.optout_phone),
        "objection_date": _date(p.objection),
    }
    return props


def iso_ms_date(value: date | None) -> str | None:
    """A date as the midnight-UTC datetime string HubSpot uses for datetime properties."""
    return None if value is None else f"{value.isoformat()}T00:00:00.000Z"


def company_type(p: Person) -> str:
    """The company ``type`` the first contact seen at a company implies."""
    if p.messy and p.index % 11 == 0:
        return "Klant"  # an option value some admin typed by hand: unknown to every mapping
    return pick(COMPANY_TYPE.get(p.relation, ("OTHER",)), p.company or "")
