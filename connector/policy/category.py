"""The ``lawful_use`` category: the record's strongest basis, else its strongest provenance."""

from __future__ import annotations

from connector.models import LawfulUse, SourceKind
from connector.policy.situation import ConsentStatus, Situation

__all__ = ["lawful_use_of"]

_BY_PROVENANCE: tuple[tuple[frozenset[SourceKind], LawfulUse], ...] = (
    (
        frozenset({SourceKind.WEB_FORM_OPTIN, SourceKind.WHITEPAPER_OPTIN, SourceKind.EVENT_OPTIN}),
        LawfulUse.OPT_IN,
    ),
    (frozenset({SourceKind.EXISTING_CUSTOMER}), LawfulUse.CUSTOMER),
    (frozenset({SourceKind.PERSONAL_ACQUAINTANCE}), LawfulUse.PERSONAL_RELATION),
    (frozenset({SourceKind.LINKEDIN_MANUAL, SourceKind.LINKEDIN_TOOL}), LawfulUse.LINKEDIN),
    (frozenset({SourceKind.SUPPLIER}), LawfulUse.SUPPLIER),
    (frozenset({SourceKind.PUBLIC_REGISTRY}), LawfulUse.PUBLIC_REGISTRY),
    (frozenset({SourceKind.PURCHASED_LIST}), LawfulUse.PURCHASED_LIST),
    (frozenset({SourceKind.EVENT_LIST}), LawfulUse.EVENT_LIST),
    (frozenset({SourceKind.PARTNER, SourceKind.REFERRAL}), LawfulUse.PARTNER_REFERRAL),
    (frozenset({SourceKind.PUBLIC_WEBSITE}), LawfulUse.PUBLIC_WEBSITE),
)
_USABLE_CONSENT = (ConsentStatus.FRESH, ConsentStatus.STALE)


def lawful_use_of(s: Situation, *, objected: bool) -> LawfulUse:
    """Objection first; then consent, customer relationship, and the provenance of the data, strongest first."""
    if objected:
        return LawfulUse.OBJECTED
    if s.phone_consent in _USABLE_CONSENT or s.email_consent in _USABLE_CONSENT:
        return LawfulUse.OPT_IN
    if s.customer is not None and s.customer.paid:
        return LawfulUse.CUSTOMER
    found = _PROVENANCE.get(s.kinds)
    return _provenance(s.kinds) if found is None else found


_PROVENANCE: dict[frozenset[SourceKind], LawfulUse] = {}


def _provenance(kinds: frozenset[SourceKind]) -> LawfulUse:
    """The strongest provenance among ``kinds`` (remembered per set of kinds: few sets occur)."""
    found = next((category for sources, category in _BY_PROVENANCE if not sources.isdisjoint(kinds)), None)
    category = LawfulUse.UNKNOWN if found is None else found
    if len(_PROVENANCE) < 4096:
        _PROVENANCE[kinds] = category
    return category
