"""Render the seeded org's consent records (Data Protection and Privacy): pure functions, no storage.

Three DataUsePurposes: `Email Marketing`, `Telemarketing` and `Service Updates` (not marketing). Individual k
(person k, contact or lead) owns the ContactPointTypeConsent indexes `k * CONSENT_SLOTS + slot`; a slot holds a
row or nothing, so an Individual has between none and four rows:

* slot 0, e-mail for Email Marketing: OptIn captured on the person's e-mail consent date, else OptOut on the
  date they unsubscribed, else (one in seven) a `Seen` notice, else nothing;
* slot 1, phone for Telemarketing: OptIn on the phone consent date, else OptOut on the phone opt-out date;
* slot 2, an expired e-mail OptIn (its EffectiveTo a year after capture) for one Individual in eleven;
* slot 3, a conflicting e-mail OptIn for Email Marketing captured after the OptOut of slot 0 (every second
  Individual who unsubscribed), else an OptIn for Service Updates for one in five.

The rows agree with the person's other records (the consent dates and opt-out checkboxes), so the seeded org's
lawful use is the same whether or not a mapping reads them.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from crm_sandbox.people import DATA_END, Person, outline, person
from crm_sandbox.salesforce.ids import make_id
from crm_sandbox.salesforce.seed import SALES_USER_ID, has_individual

CONSENT_PREFIX, PURPOSE_PREFIX = "0ZY", "0ZW"
CONSENT_SLOTS = 4
LATEST_AFTER_MODIFIED = timedelta(days=400)
"""A seeded row's SystemModstamp is earlier than its person's `modified` plus this: its date is at most 399
days after the person's creation (an OptIn of a customer) or 30 days after its latest opt-out, which falls
before `modified`. Queries for the newest rows visit the newest persons only (`keyset.newest_consents`)."""
_AFTER_OPT_OUT = timedelta(days=31)


def newest_bound(seed: int, party: int) -> datetime:
    """A time every seeded row of Individual `party` is earlier than, from the person's first draws only: 31
    days after `modified` (an OptIn 30 days after an opt-out), or for a customer (whose e-mail OptIn may come
    up to 399 days after the lead source date) 400 days after `created` when that is later."""
    relation, created, modified = outline(seed, party)
    bound = modified + _AFTER_OPT_OUT
    return max(bound, created + LATEST_AFTER_MODIFIED) if relation == "customer" else bound


PURPOSES = ("Email Marketing", "Telemarketing", "Service Updates")
EMAIL_MARKETING, TELEMARKETING, SERVICE_UPDATES = (make_id(PURPOSE_PREFIX, i) for i in range(len(PURPOSES)))
_SOURCES = {
    "web_form_optin": "Web form",
    "whitepaper_optin": "Whitepaper form",
    "event_optin": "Webinar form",
}


def data_use_purpose(index: int) -> dict[str, Any] | None:
    """Seeded DataUsePurpose number `index`."""
    if index >= len(PURPOSES):
        return None
    moment = datetime(2019, 5, 1, 9, tzinfo=UTC)
    return _system(PURPOSE_PREFIX, index, moment) | {
        "Name": PURPOSES[index], "Description": None, "CanDataSubjectOptOut": True,
    }  # fmt: skip


def consent(seed: int, index: int) -> dict[str, Any] | None:
    """Seeded ContactPointTypeConsent number `index` (slot `index % CONSENT_SLOTS` of Individual
    `index // CONSENT_SLOTS`), or None when the slot is empty."""
    party, slot = divmod(index, CONSENT_SLOTS)
    p = person(seed, party)
    if not has_individual(p):
        return None
    row = _slot(p, slot)
    if row is None:
        return None
    channel, status, purpose, captured, until = row
    moment = _at(captured)
    return _system(CONSENT_PREFIX, index, moment) | {
        "Name": f"{channel} {status}", "PartyId": make_id("0PK", party), "ContactPointType": channel,
        "PrivacyConsentStatus": status, "DataUsePurposeId": purpose, "EffectiveFrom": moment,
        "EffectiveTo": _at(until) if until else None, "CaptureDate": moment,
        "CaptureSource": _SOURCES.get(p.source, "Preference centre"), "CaptureContactPointType": "Web",
        "DoubleConsentCaptureDate": None,
    }  # fmt: skip


Row = tuple[str, str, str, date, date | None]
"""(ContactPointType, PrivacyConsentStatus, DataUsePurposeId, captured, effective until)."""


def _slot(p: Person, slot: int) -> Row | None:
    created = p.created.date()
    if slot == 0:
        if p.email_consent is not None:
            return "Email", "OptIn", EMAIL_MARKETING, p.email_consent, None
        if p.optout_email is not None:
            return "Email", "OptOut", EMAIL_MARKETING, p.optout_email, None
        return ("Email", "Seen", EMAIL_MARKETING, created, None) if p.index % 7 == 0 else None
    if slot == 1:
        if p.phone_consent is not None:
            return "Phone", "OptIn", TELEMARKETING, p.phone_consent, None
        if p.optout_phone is not None:
            return "Phone", "OptOut", TELEMARKETING, p.optout_phone, None
        return None
    if slot == 2:
        ended = created + timedelta(days=365)
        if p.index % 11 == 3 and ended < DATA_END.date():
            return "Email", "OptIn", EMAIL_MARKETING, created, ended
        return None
    if p.optout_email is not None and p.email_consent is None and p.index % 2 == 0:
        return "Email", "OptIn", EMAIL_MARKETING, p.optout_email + timedelta(days=30), None
    return ("Email", "OptIn", SERVICE_UPDATES, created, None) if p.index % 5 == 1 else None


def _at(day: date) -> datetime:
    return datetime.combine(day, time(9, 30), tzinfo=UTC)


def _system(prefix: str, index: int, moment: datetime) -> dict[str, Any]:
    return {
        "Id": make_id(prefix, index), "IsDeleted": False, "CreatedDate": moment, "LastModifiedDate": moment,
        "SystemModstamp": moment, "LastModifiedById": SALES_USER_ID,
    }  # fmt: skip
