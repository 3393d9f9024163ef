"""What a channel's decision reads: the signature under which the engine remembers decided channels.

Many contacts are decided alike: the rules only ask a few questions of them (is there a fresh consent, is the
number screened, is the customer within three years …). A channel's *signature* is the tuple of every answer its
rules can read, so two situations with equal signatures walk the same rules to the same outcomes and words; the
engine decides a signature once and reuses the result (memory.py). That is exact only while the signatures list
everything a rule reads: a rule, or a country pack, that starts reading a new fact must add it here (the tests
in ``tests/unit/test_policy_memory.py`` compare remembered and freshly walked decisions).

The settings are not part of a signature: the engine keeps one memory per settings.
"""

from __future__ import annotations

from connector.models import EntityType, RegisterList, SourceKind
from connector.policy.rules.common import GATES, soft_opt_in_conditions_met
from connector.policy.rules.fr import ongoing_contract_with_us
from connector.policy.rules.nl import CUSTOMER_CALL_MONTHS
from connector.policy.rules.packs import PACK_COUNTRIES
from connector.policy.rules.uk import register_for
from connector.policy.situation import FIRST_PARTY_SOURCES, Situation, period_end

__all__ = ["CLOSED", "Signature", "signatures"]

Signature = tuple[object, ...]

_ONLY_UNKNOWN = frozenset({SourceKind.UNKNOWN})
_TOOL_OR_UNKNOWN = frozenset({SourceKind.LINKEDIN_TOOL, SourceKind.UNKNOWN})
_SPECIFIC_INTEREST = frozenset({SourceKind.WEB_FORM_OPTIN, SourceKind.EVENT_OPTIN})

_KIND_CLASSES: dict[frozenset[SourceKind], int] = {}


def _kinds_class(kinds: frozenset[SourceKind]) -> int:
    """The questions rules ask of the sources, as one small number: no usable source (G5), only a scraping
    tool (G7), a first-party source (N7, F1, L1), a personal acquaintance (N2), a specific interest (D3)."""
    found = _KIND_CLASSES.get(kinds)
    if found is None:
        answers = (
            not kinds or kinds == _ONLY_UNKNOWN,
            SourceKind.LINKEDIN_TOOL in kinds and not (kinds - _TOOL_OR_UNKNOWN),
            not kinds.isdisjoint(FIRST_PARTY_SOURCES),
            SourceKind.PERSONAL_ACQUAINTANCE in kinds,
            not kinds.isdisjoint(_SPECIFIC_INTEREST),
        )
        found = sum(1 << bit for bit, answer in enumerate(answers) if answer)
        if len(_KIND_CLASSES) < 4096:  # every set of source kinds that occurs fits many times over
            _KIND_CLASSES[kinds] = found
    return found


def _issues(s: Situation, channel: str) -> tuple[str, ...]:
    """G8's codes for the channel."""
    return tuple(sorted({i.code for i in s.facts.issues if i.channel in (channel, "both")}))


def _screening(s: Situation, register: RegisterList) -> int:
    """A register's state as the pack rules read it: 0 unchecked, 1 clear, 2 listed within the UK grace
    period, 3 listed."""
    screening = s.screening(register) if s.facts.dnc else None
    if screening is None or not s.screening_is_current(screening):
        return 0
    if not screening.listed:
        return 1
    since = screening.since
    if since is not None and since <= s.now <= period_end(since, days=s.settings.uk_tps_grace_days):
        return 2
    return 3


def _phone_opt_out(s: Situation) -> object:
    """G3: the date of a request not to be called when it holds (its words name it), True for our own
    suppression list, else None."""
    facts = s.facts
    opted_out = facts.optout_phone
    if opted_out is not None and not s.consent_after("phone", opted_out):
        return opted_out
    if not facts.dnc:
        return None
    own = s.screening(RegisterList.OWN)
    if own is not None and own.listed and not (own.since and s.consent_after("phone", own.since)):
        return True
    return None


def _customer(s: Situation) -> object:
    """What the customer rules read (S1-S3 everywhere, N3/N4/N9 in NL, D3 in DE, F3/F4 in FR): whether there
    is a customer record, whether it counts yet, its conditions and how far its terms have run."""
    country = s.facts.country
    ongoing = ongoing_contract_with_us(s) if country == "FR" else None
    c = s.customer
    if c is None:
        return False, ongoing
    anchor = s.customer_anchor()
    soft = call = None
    if anchor is not None:
        soft = s.now <= period_end(anchor, months=s.settings.soft_opt_in_max_months)
        if country == "NL":
            call = s.now <= period_end(anchor, months=CUSTOMER_CALL_MONTHS)
    return (
        c.paid,
        c.same_entity,
        c.informed_at_collection,
        c.similar_offer,
        soft_opt_in_conditions_met(s),
        soft,
        call,
        ongoing,
    )


def _register(s: Situation) -> int | None:
    """The state of the register that the pack's phone rules read (BE DNCM, FR Bloctel, UK TPS or CTPS)."""
    country = s.facts.country
    if country == "BE":
        return _screening(s, RegisterList.BE_DNCM)
    if country == "FR":
        return _screening(s, RegisterList.FR_BLOCTEL)
    if country == "GB":
        return _screening(s, register_for(s))
    return None


def signatures(s: Situation, period: int) -> tuple[Signature, Signature, bool]:
    """The phone and e-mail signatures of ``s`` in the law's ``period``: everything the gates, the consent and
    soft opt-in rules, the country pack and L1 read on that channel.

    Three forms, told apart by their first answer: a channel that G1-G3 close is signed by that gate and its
    answer alone (``("G1", date)``: their words name the date); channels that G4-G6 close are signed by those
    gates' questions (``(CLOSED, …)``); any other channel by all its answers (``(period, …)``). The third value
    tells whether the gates close both channels: then only the gates' answers and the category read the
    date (expiry.gate_days)."""
    facts = s.facts
    phone_gate: Signature | None = None
    email_gate: Signature | None = None
    objected = facts.objection
    if objected is not None:
        if not s.consent_after("phone", objected):
            phone_gate = ("G1", objected)
        if not s.consent_after("email", objected):
            email_gate = ("G1", objected)
    if phone_gate is None and (facts.optout_phone is not None or facts.dnc):
        opted_out = _phone_opt_out(s)
        if opted_out is not None:
            phone_gate = ("G3", opted_out)
    if email_gate is None:
        opted_out = facts.optout_email
        if opted_out is not None and not s.consent_after("email", opted_out):
            email_gate = ("G2", opted_out)
    if phone_gate is not None and email_gate is not None:
        return phone_gate, email_gate, True
    kinds = _KIND_CLASSES.get(s.kinds)
    if kinds is None:
        kinds = _kinds_class(s.kinds)
    country = facts.country
    entity = facts.entity_type
    if country not in PACK_COUNTRIES or entity is EntityType.UNKNOWN or kinds & _NO_SOURCE:
        closed = (CLOSED, country, entity, kinds)
        return phone_gate or closed, email_gate or closed, True
    customer = None if facts.customer is None else _customer(s)
    issues = facts.issues
    email = facts.email
    phone = phone_gate or (
        period,
        country,
        entity,
        facts.call_target,
        kinds,
        s.phone_consent,
        facts.lia_ref is None,
        _issues(s, "phone") if issues else (),
        customer,
        _register(s) if country in _REGISTER_COUNTRIES else None,
    )
    mail = email_gate or (
        period,
        country,
        entity,
        email.kind,
        email.published_for_offers,
        kinds,
        s.email_consent,
        facts.lia_ref is None,
        _issues(s, "email") if issues else (),
        customer,
    )
    return phone, mail, False


CLOSED = "closed"
"""The first answer of a signature whose channel G4, G5 or G6 closes."""

_REGISTER_COUNTRIES = frozenset({"BE", "FR", "GB"})
_NO_SOURCE = 1  # the first bit of a kinds class: G5's question


def _assumptions_hold() -> bool:
    """What ``signatures`` relies on: every chain begins with G1-G6 (G2 e-mail only, G3 phone only), in force
    on every date, and the first of them that decides ends the walk; and the country packs are those whose
    reads it lists (a new pack must add what its rules read)."""
    gates = tuple((rule.info.id, rule.info.channel) for rule in GATES[:6])
    undated = all(r.info.effective_from is None and r.info.effective_until is None for r in GATES[:6])
    expected = (
        ("G1", "both"),
        ("G2", "email"),
        ("G3", "phone"),
        ("G4", "both"),
        ("G5", "both"),
        ("G6", "both"),
    )
    return undated and gates == expected and frozenset({"NL", "DE", "BE", "FR", "GB"}) == PACK_COUNTRIES


if not _assumptions_hold():
    raise ImportError("signatures() no longer lists everything the rules read: see _assumptions_hold")
