"""Consent records (Salesforce's ContactPointTypeConsent rows) -> consents and opt-outs. Pure: no I/O, no clock.

The adapter reads the rows of each record's Individual and hands them over in ``CrmRecord.fields[RECORDS_FIELD]``
as a tuple of `ConsentRecord`, each already placed against the run's clock (`state`: in effect, ahead of its
``EffectiveFrom``, or ended at its ``EffectiveTo``). The mapping's ``data_use_purposes`` table says on which
channels each purpose (``DataUsePurpose.Name``) is marketing; a row of another channel or of a purpose the table
does not list says nothing (``mappings check`` names such purposes).

* Rows of one channel and one purpose in effect are combined by Salesforce's least permissive rule: one OptOut
  makes the pair opted out whatever the other rows say. The opt-out is then dated no earlier than any of the
  pair's rows, so none of their OptIns outranks it; an OptIn of another purpose given later re-opens the
  channel, as the policy reads a renewed opt-in.
* An OptIn: a `Consent` given to us and specific, dated by its capture (else its start) and never before its
  start (the policy counts it from that day), ending on its ``EffectiveTo`` (``Consent.ends``). The facts keep
  the dates, not where today stands against them, so the decision itself knows the day the consent ends
  (``valid_until``), and a record nobody edits is decided again on that day.
* An OptOut ahead of its start counts at once (closing early is the safe side); one that has ended says nothing.
  That is the only use of ``state``: a stored OptOut that ends later keeps the channel closed until the record
  is read again.
* A row without a purpose: an OptOut closes the channel; an OptIn is a consent to nothing in particular (not
  specific, so not valid). ``Seen`` and ``NotSeen`` say nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from connector.models import Consent

__all__ = [
    "CONSENT_OBJECT",
    "DATA_USE_PURPOSES",
    "PARTY_OBJECT",
    "RECORDS_FIELD",
    "ConsentRecord",
    "ConsentRecordReading",
    "read_consent_records",
]

RECORDS_FIELD = "@consent_records"
"""The key of a record's consent records in ``CrmRecord.fields`` (no CRM field has an ``@``)."""
CONSENT_OBJECT = "ContactPointTypeConsent"
"""Salesforce's consent record object: a change to one re-decides the records of its person."""
DATA_USE_PURPOSES = "@data_use_purposes"
"""The describe entry whose values are the org's data use purposes (``mappings check`` names unplaced ones)."""
PARTY_OBJECT = "Individual"
"""The person a consent record belongs to (its ``PartyId``): what a change to one asks to re-decide."""

Channel = Literal["email", "phone"]
State = Literal["in_effect", "ahead", "ended"]


@dataclass(frozen=True, slots=True)
class ConsentRecord:
    """One consent row of the record's person for one channel, as the CRM keeps it."""

    channel: str
    """The contact point type in lower case (``email``, ``phone``, ``mailingaddress``, …)."""
    status: str
    """``OptIn``, ``OptOut``, ``Seen`` or ``NotSeen``."""
    purpose: str | None
    """The data use purpose's name, or None for a row without one."""
    captured: date | None
    effective_from: date | None
    effective_to: date | None
    state: State
    """Where the run's clock stands against ``effective_from`` and ``effective_to``."""


@dataclass(frozen=True, slots=True)
class ConsentRecordReading:
    """What a record's consent records say under the mapping."""

    consents: tuple[Consent, ...] = ()
    optout_email: date | None = None
    optout_phone: date | None = None


Lookup = Callable[[Mapping[str, Any], str], Any | None]


def read_consent_records(
    records: Iterable[ConsentRecord],
    purposes: Mapping[str, list[Channel]],
    *,
    lookup: Lookup,
    fallback: date,
) -> ConsentRecordReading:
    """The consents and opt-outs the rows give; ``fallback`` dates a row that has no date at all."""
    groups: dict[tuple[Channel, str | None], list[ConsentRecord]] = {}
    for record in records:
        channel = _channel(record)
        if channel is None or record.status not in ("OptIn", "OptOut"):
            continue
        if record.purpose is not None:
            placed: list[Channel] | None = lookup(purposes, record.purpose)
            if placed is None or channel not in placed:
                continue
        groups.setdefault((channel, record.purpose), []).append(record)
    consents: list[Consent] = []
    optouts: dict[Channel, date] = {}
    for (channel, purpose), rows in groups.items():
        live = [row for row in rows if row.state != "ended"]
        if any(row.status == "OptOut" for row in live):
            at = max(_dated(row, fallback) for row in live)
            optouts[channel] = max(optouts.get(channel, at), at)
            continue
        for row in rows:
            consent = _consent(row, channel, specific=purpose is not None, fallback=fallback)
            if consent is not None and consent not in consents:
                consents.append(consent)
    return ConsentRecordReading(tuple(consents), optouts.get("email"), optouts.get("phone"))


def _channel(record: ConsentRecord) -> Channel | None:
    if record.channel == "email":
        return "email"
    return "phone" if record.channel == "phone" else None


def _dated(record: ConsentRecord, fallback: date) -> date:
    """When the row was given: its capture, else its start, else ``fallback``."""
    return record.captured or record.effective_from or fallback


def _consent(record: ConsentRecord, channel: Channel, *, specific: bool, fallback: date) -> Consent | None:
    if record.status != "OptIn":
        return None
    given = _dated(record, fallback)
    start = max(given, record.effective_from) if record.effective_from is not None else given
    return Consent(channel=channel, date=start, specific=specific, ends=record.effective_to)
