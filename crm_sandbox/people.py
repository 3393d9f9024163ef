"""Synthetic, CRM-neutral people for the sandbox emulators: deterministic per (seed, index), O(1), no storage.

Both emulators render their records lazily from `person(seed, index)`, so a million contacts cost no memory
until a record is written. The people are invented: names are drawn from common first and last names per
country, company names are made up, GB landlines and US numbers use the ranges reserved for fiction. A few
percent are "messy" (missing fields, malformed emails and phones) because real CRMs are.
"""

from __future__ import annotations

import bisect
import functools
import hashlib
import itertools
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TypeVar

__all__ = ["DATA_END", "DATA_START", "Draws", "Person", "modified_at", "outline", "person", "relation_of"]

DATA_START = datetime(2012, 1, 1, tzinfo=UTC)
DATA_END = datetime(2025, 9, 30, tzinfo=UTC)
_SPAN_SECONDS = int((DATA_END - DATA_START).total_seconds())
_T = TypeVar("_T")
_LOW = 1 << 64
_SCALE = 1 << 30
_MASK = _SCALE - 1


class Draws:
    """The random draws of one (seed, index): BLAKE2b of the key in counter mode, read as one big number.

    Each draw below n takes `pool mod n` and keeps `pool // n`, so a person costs one or two hashes instead
    of seeding a Mersenne Twister (about 9 µs) per record. A new 512-bit block is hashed whenever fewer than
    64 bits are left, which keeps every draw's bias below n / 2**64."""

    __slots__ = ("_block", "_key", "_pool")

    def __init__(self, seed: int, index: int) -> None:
        self._key = ((seed & 0xFFFFFFFF) << 64 | index).to_bytes(16, "little")
        self._block = 0
        self._pool = 0

    def _refill(self) -> int:
        self._block += 1
        digest = hashlib.blake2b(self._key, digest_size=64, salt=self._block.to_bytes(16, "little"))
        return int.from_bytes(digest.digest(), "little") | 1 << 512

    def below(self, n: int) -> int:
        """A uniform integer in [0, n)."""
        pool = self._pool
        if pool < _LOW:
            pool = self._refill()
        self._pool, drawn = divmod(pool, n)
        return drawn

    def random(self) -> float:
        """A uniform float in [0, 1) (in steps of 2**-30)."""
        pool = self._pool
        if pool < _LOW:
            pool = self._refill()
        self._pool = pool >> 30
        return (pool & _MASK) / _SCALE

    def randrange(self, start: int, stop: int | None = None) -> int:
        """A uniform integer in [0, start) or [start, stop)."""
        pool = self._pool
        if pool < _LOW:
            pool = self._refill()
        if stop is None:
            self._pool, drawn = divmod(pool, start)
            return drawn
        self._pool, drawn = divmod(pool, stop - start)
        return start + drawn

    def choice(self, options: Sequence[_T]) -> _T:
        """One of `options`, each as likely."""
        pool = self._pool
        if pool < _LOW:
            pool = self._refill()
        self._pool, drawn = divmod(pool, len(options))
        return options[drawn]

    def weighted(self, table: Weighted) -> str:
        """One value of a table made by `weighted_table`, as likely as its weight."""
        values, bounds = table
        return values[bisect.bisect_right(bounds, self.below(bounds[-1]))]


Weighted = tuple[tuple[str, ...], tuple[int, ...]]
"""Values and their cumulative integer weights."""


def weighted_table(pairs: Sequence[tuple[str, int]]) -> Weighted:
    """A (value, weight) table as `Draws.weighted` reads it."""
    return tuple(value for value, _ in pairs), tuple(itertools.accumulate(weight for _, weight in pairs))


@dataclass(frozen=True, slots=True)
class Person:
    """One synthetic person with the facts a CRM would hold about them (see module docstring)."""

    index: int
    first_name: str
    last_name: str
    email: str | None
    email_kind: str
    phone: str | None
    country: str | None
    company: str | None
    legal_form: str | None
    entity_type: str
    relation: str
    source: str
    source_date: date | None
    email_consent: date | None
    phone_consent: date | None
    optout_email: date | None
    optout_phone: date | None
    objection: date | None
    last_won_deal: date | None
    created: datetime
    modified: datetime
    messy: bool


_COUNTRIES: tuple[tuple[str, int], ...] = (
    ("NL", 34), ("DE", 20), ("BE", 12), ("FR", 10), ("GB", 10), ("US", 4),
    ("CH", 2), ("ES", 2), ("IT", 2), ("AT", 2), ("SE", 1), ("IE", 1),
)  # fmt: skip
_COUNTRY_TABLE = weighted_table(_COUNTRIES)


def _words(text: str) -> tuple[str, ...]:
    return tuple(word.strip() for word in text.split("|"))


def _pairs(text: str) -> dict[str, str]:
    return dict(pair.split("=", 1) for pair in text.split("|"))


_NAMES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "nl": (
        _words(
            "Jan|Sanne|Pieter|Anouk|Daan|Lotte|Bram|Femke|Joost|Marieke|Sem|Eva|Thijs|Iris|Ruben|Noor|Koen"
        ),
        _words(
            "de Vries|Jansen|van den Berg|Bakker|Visser|Smit|Meijer|de Boer|Mulder|de Groot|Bos|Vos|Peters"
        ),
    ),
    "de": (
        _words(
            "Lukas|Anna|Jonas|Lea|Felix|Laura|Maximilian|Sophie|Paul|Marie|Tobias|Julia|Stefan|Sabine|Jürgen"
        ),
        _words(
            "Müller|Schmidt|Schneider|Fischer|Weber|Meyer|Wagner|Becker|Schulz|Hoffmann|Koch|Richter|Krüger"
        ),
    ),
    "fr": (
        _words(
            "Jean|Marie|Pierre|Camille|Louis|Chloé|Nicolas|Léa|Julien|Manon|Antoine|Élodie|Thomas|François"
        ),
        _words("Martin|Bernard|Dubois|Thomas|Robert|Richard|Petit|Durand|Leroy|Moreau|Simon|Laurent|Lefèvre"),
    ),
    "en": (
        _words(
            "Oliver|Amelia|George|Isla|Harry|Emily|Jack|Olivia|James|Sophie|William|Grace|Charlotte|Daniel"
        ),
        _words(
            "Smith|Jones|Taylor|Brown|Williams|Wilson|Johnson|Davies|Robinson|Wright|Thompson|Evans|Walker"
        ),
    ),
    "es": (
        _words("Carlos|Lucía|Javier|María|Pablo|Carmen|Alejandro|Laura|Diego|Elena"),
        _words("García|Fernández|González|Rodríguez|López|Martínez|Sánchez|Pérez|Gómez"),
    ),
    "it": (
        _words("Marco|Giulia|Luca|Francesca|Matteo|Chiara|Alessandro|Sara|Davide|Elena"),
        _words("Rossi|Russo|Ferrari|Esposito|Bianchi|Romano|Colombo|Ricci|Marino"),
    ),
    "sv": (
        _words("Erik|Anna|Lars|Maria|Johan|Karin|Anders|Sara|Nils|Emma"),
        _words("Andersson|Johansson|Karlsson|Nilsson|Eriksson|Larsson|Olsson|Persson"),
    ),
}
_LANGUAGE = _pairs("NL=nl|BE=nl|DE=de|AT=de|CH=de|FR=fr|GB=en|US=en|IE=en|ES=es|IT=it|SE=sv")
_TLD = _pairs("NL=nl|BE=be|DE=de|AT=at|CH=ch|FR=fr|GB=co.uk|US=com|IE=ie|ES=es|IT=it|SE=se")
_LEGAL_FORMS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    # country: (business forms, sole-trader forms)
    "NL": (("BV", "BV", "BV", "NV", "Stichting", "Coöperatie U.A."), ("eenmanszaak", "eenmanszaak", "vof")),
    "BE": (("BV", "NV", "SRL", "SA", "SPRL", "CommV"), ("eenmanszaak", "entreprise individuelle")),
    "DE": (
        ("GmbH", "GmbH", "GmbH", "AG", "GmbH & Co. KG", "UG (haftungsbeschränkt)"),
        ("e.K.", "Einzelunternehmen"),
    ),
    "AT": (("GmbH", "AG", "OG", "KG"), ("e.U.", "Einzelunternehmen")),
    "CH": (("AG", "GmbH", "Sàrl", "SA"), ("Einzelfirma",)),
    "FR": (("SAS", "SARL", "SA", "SASU", "SCI"), ("entreprise individuelle", "auto-entrepreneur", "EURL")),
    "GB": (("Ltd", "Ltd", "Ltd", "PLC", "LLP"), ("sole trader", "sole trader", "partnership")),
    "IE": (("Ltd", "DAC", "PLC"), ("sole trader",)),
    "US": (("Inc.", "LLC", "Corp."), ("sole proprietorship",)),
    "ES": (("S.L.", "S.A."), ("autónomo",)),
    "IT": (("S.r.l.", "S.p.A."), ("ditta individuale",)),
    "SE": (("AB",), ("enskild firma",)),
}
_COMPANY_WORDS = _words(
    "Noord|Delta|Polder|Alpen|Rhein|Atlas|Zenit|Kompas|Horizon|Meridian|Vector|Linde|Eiken|Beacon|Harbour|"
    "Summit|Orion|Lumen|Nova|Vlinder|Tulp|Molen|Falke|Brücke|Quartz|Cedar|Maple|Prisma|Kristal|Pioneer"
)
_COMPANY_TRADES = _words(
    "Logistics|Software|Techniek|Bouw|Consulting|Installatie|Systems|Solutions|Handel|Media|Engineering|Foods|"
    "Energie|Metaal|Design|Data|Zorg|Services|Print|Labs"
)
_ROLE_LOCALS = (
    "info",
    "sales",
    "contact",
    "office",
    "admin",
    "hello",
    "inkoop",
    "verkoop",
    "kontakt",
    "service",
)
_FREE_MAIL = {
    "NL": ("gmail.com", "hotmail.com", "outlook.com", "ziggo.nl", "kpnmail.nl", "live.nl"),
    "BE": ("gmail.com", "hotmail.com", "telenet.be", "skynet.be", "outlook.be"),
    "DE": ("gmail.com", "web.de", "gmx.de", "t-online.de", "outlook.de"),
    "AT": ("gmail.com", "gmx.at", "aon.at"),
    "CH": ("gmail.com", "bluewin.ch", "gmx.ch"),
    "FR": ("gmail.com", "orange.fr", "free.fr", "laposte.net", "hotmail.fr"),
    "GB": ("gmail.com", "btinternet.com", "outlook.com", "yahoo.co.uk", "hotmail.co.uk"),
}
_FREE_MAIL_DEFAULT = ("gmail.com", "outlook.com", "yahoo.com", "proton.me")
_ASCII = str.maketrans(
    {"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "é": "e", "è": "e", "ë": "e", "à": "a", "ç": "c", "á": "a",
     "í": "i", "ó": "o", "ú": "u", "ñ": "n", "ò": "o", "ï": "i", "É": "E", " ": ""}
)  # fmt: skip

_RELATIONS_BUSINESS = (
    ("prospect", 45), ("customer", 25), ("former_customer", 10), ("partner", 7), ("supplier", 5),
    ("other", 8),
)  # fmt: skip
_RELATIONS_CONSUMER = (("prospect", 50), ("customer", 35), ("former_customer", 15))
_PROSPECT_SOURCES = (
    ("web_form_optin", 14), ("whitepaper_optin", 8), ("whitepaper_no_optin", 6), ("event_optin", 6),
    ("event_list", 6), ("purchased_list", 10), ("linkedin_manual", 10), ("linkedin_tool", 6),
    ("public_registry", 7), ("public_website", 7), ("referral", 6), ("personal_acquaintance", 4),
    ("unknown", 10),
)  # fmt: skip
_RELATIONS_BUSINESS_TABLE = weighted_table(_RELATIONS_BUSINESS)
_RELATIONS_CONSUMER_TABLE = weighted_table(_RELATIONS_CONSUMER)
_PROSPECT_TABLE = weighted_table(_PROSPECT_SOURCES)
_OPTIN_SOURCES = frozenset({"web_form_optin", "whitepaper_optin", "event_optin"})


_KEEP = 1 << 15
_kept: OrderedDict[tuple[int, int], Person] = OrderedDict()
_keeping = threading.Lock()


def person(seed: int, index: int) -> Person:
    """Person number `index` of the data set `seed`: deterministic and independent of other indexes.

    The latest persons drawn are kept (about 20 MB): the records of one person (Contact, Account, Opportunity,
    Individual, its consent rows) are often rendered one after another."""
    found = _kept.get((seed, index))
    if found is not None:
        return found
    made = _draw(seed, index)
    with _keeping:
        if len(_kept) >= _KEEP:
            _kept.popitem(last=False)  # the oldest drawn
        _kept[(seed, index)] = made
    return made


def _draw(seed: int, index: int) -> Person:
    rng = Draws(seed, index)
    head = _head(rng)
    messy, home, first_name, last_name, entity_type, company, legal_form, relation, source = head[:9]
    created, modified = head[9], head[10]
    country: str | None = home
    created_day = created.date()
    source_date = None if source == "unknown" else created_day - timedelta(days=rng.randrange(0, 60))
    email_consent = _consent(rng, source, relation, source_date)
    phone_consent = source_date if source_date and rng.random() < 0.05 else None
    optout_email = _after(rng, created_day, modified.date()) if rng.random() < 0.08 else None
    optout_phone = _after(rng, created_day, modified.date()) if rng.random() < 0.06 else None
    objection = _after(rng, created_day, modified.date()) if rng.random() < 0.03 else None
    last_won_deal = _won_deal(rng, relation, created_day)

    email_kind, email = _email(rng, home, entity_type, first_name, last_name, company)
    phone = _phone(rng, home)
    if messy:
        email, phone, country = _mess_up(rng, email, phone, country)
    return Person(
        index, first_name, last_name, email, email_kind, phone, country, company, legal_form, entity_type,
        relation, source, source_date, email_consent, phone_consent, optout_email, optout_phone, objection,
        last_won_deal, created, modified, messy,
    )  # fmt: skip


def relation_of(seed: int, index: int) -> tuple[str, str]:
    """(`entity_type`, `relation`) of `person(seed, index)`, drawing only what precedes them (a third of the
    cost) unless the person is kept: whether the person has a company or a won deal, without the rest."""
    found = _kept.get((seed, index))
    if found is not None:
        return found.entity_type, found.relation
    head = _head(Draws(seed, index))
    return head[4], head[7]


def outline(seed: int, index: int) -> tuple[str, datetime, datetime]:
    """(`relation`, `created`, `modified`) of `person(seed, index)`, drawing only what precedes them."""
    found = _kept.get((seed, index))
    if found is not None:
        return found.relation, found.created, found.modified
    head = _head(Draws(seed, index))
    return head[7], head[9], head[10]


def modified_at(seed: int, index: int) -> datetime:
    """`person(seed, index).modified`, drawing only what precedes it (for building modification indexes)."""
    return _head(Draws(seed, index))[10]


def _head(
    rng: Draws,
) -> tuple[bool, str, str, str, str, str | None, str | None, str, str, datetime, datetime]:
    """The draws of `person` up to the modification time, in the same order (shared so both agree)."""
    messy = rng.random() < 0.04
    country = rng.weighted(_COUNTRY_TABLE)
    first_names, last_names = _NAMES[_LANGUAGE[country]]
    first_name, last_name = rng.choice(first_names), rng.choice(last_names)
    roll = rng.random()
    entity_type = "business" if roll < 0.70 else "sole_trader" if roll < 0.85 else "consumer"
    company, legal_form = _company(rng, country, entity_type, last_name)
    relation = rng.weighted(
        _RELATIONS_CONSUMER_TABLE if entity_type == "consumer" else _RELATIONS_BUSINESS_TABLE
    )
    source = _source(rng, relation)
    created = DATA_START + timedelta(seconds=rng.randrange(_SPAN_SECONDS))
    modified = created + timedelta(seconds=rng.randrange(int((DATA_END - created).total_seconds()) + 1))
    return (
        messy,
        country,
        first_name,
        last_name,
        entity_type,
        company,
        legal_form,
        relation,
        source,
        created,
        modified,
    )


def _company(rng: Draws, country: str, entity_type: str, last_name: str) -> tuple[str | None, str | None]:
    if entity_type == "consumer":
        return None, None
    business_forms, sole_forms = _LEGAL_FORMS[country]
    if entity_type == "sole_trader":
        form = rng.choice(sole_forms)
        return f"{last_name} {rng.choice(_COMPANY_TRADES)}", form
    form = rng.choice(business_forms)
    return f"{rng.choice(_COMPANY_WORDS)} {rng.choice(_COMPANY_TRADES)} {form}", form


def _source(rng: Draws, relation: str) -> str:
    if relation == "customer":
        return rng.choice(("existing_customer", "existing_customer", "web_form_optin", "referral"))
    if relation == "former_customer":
        return rng.choice(("existing_customer", "existing_customer", "unknown"))
    if relation == "partner":
        return rng.choice(("partner", "partner", "event_list"))
    if relation == "supplier":
        return "supplier"
    return rng.weighted(_PROSPECT_TABLE)


def _consent(rng: Draws, source: str, relation: str, source_date: date | None) -> date | None:
    if source_date is None:
        return None
    if source in _OPTIN_SOURCES and rng.random() < 0.9:
        return source_date
    if relation == "customer" and rng.random() < 0.3:
        return source_date + timedelta(days=rng.randrange(0, 400))
    return None


def _after(rng: Draws, start: date, end: date) -> date:
    return start + timedelta(days=rng.randrange(0, max(1, (end - start).days + 1)))


def _won_deal(rng: Draws, relation: str, created: date) -> date | None:
    end = DATA_END.date()
    if relation == "customer":
        return max(created, end - timedelta(days=rng.randrange(0, 3 * 365)))
    if relation == "former_customer":
        return max(created, end - timedelta(days=rng.randrange(3 * 365, 10 * 365)))
    return None


@functools.lru_cache(maxsize=4096)
def _slug(text: str) -> str:
    return "".join(ch for ch in text.lower().translate(_ASCII) if ch.isalnum() or ch in "-.")


def _email(
    rng: Draws, country: str, entity_type: str, first: str, last: str, company: str | None
) -> tuple[str, str | None]:
    roll = rng.random()
    if entity_type == "consumer" or company is None:
        kind = "free_mail" if roll < 0.85 else "none"
    elif entity_type == "sole_trader":
        kind = (
            "named_business"
            if roll < 0.4
            else "role_generic"
            if roll < 0.6
            else "free_mail"
            if roll < 0.95
            else "none"
        )
    else:
        kind = (
            "named_business"
            if roll < 0.6
            else "role_generic"
            if roll < 0.8
            else "free_mail"
            if roll < 0.95
            else "none"
        )
    if kind == "none":
        return kind, None
    person_local = f"{_slug(first)}.{_slug(last)}"
    if kind == "free_mail":
        domain = rng.choice(_FREE_MAIL.get(country, _FREE_MAIL_DEFAULT))
        return kind, f"{person_local}{rng.randrange(1, 100)}@{domain}"
    assert company is not None
    domain = f"{_slug(' '.join(company.split()[:2]))}.{_TLD[country]}"
    if kind == "role_generic":
        return kind, f"{rng.choice(_ROLE_LOCALS)}@{domain}"
    local = person_local if rng.random() < 0.7 else f"{_slug(first)[0]}.{_slug(last)}"
    return kind, f"{local}@{domain}"


def _digits(rng: Draws, count: int) -> str:
    return f"{rng.randrange(10**count):0{count}d}"


def _phone(rng: Draws, country: str) -> str | None:
    """A phone number in E.164 or in the country's local notation; None for about one in eight people."""
    if rng.random() < 0.12:
        return None
    e164_wanted = rng.random() < 0.5
    mobile = rng.random() < 0.55
    national, local = _national_number(rng, country, mobile=mobile)
    calling = _CALLING_CODES[country]
    if e164_wanted or local is None:
        return f"+{calling}{national}"
    return local


_CALLING_CODES = _pairs("NL=31|BE=32|DE=49|AT=43|CH=41|FR=33|GB=44|IE=353|US=1|ES=34|IT=39|SE=46")


def _national_number(rng: Draws, country: str, *, mobile: bool) -> tuple[str, str | None]:
    """(national significant number, local notation or None) for a plausible number in that country."""
    if country == "NL":
        if mobile:
            rest = rng.choice("123458") + _digits(rng, 7)
            return "6" + rest, rng.choice((f"06-{rest}", f"06 {rest[:4]} {rest[4:]}", f"06{rest}"))
        area, rest = rng.choice(("20", "10", "30", "70", "40", "50")), _digits(rng, 7)
        return area + rest, f"0{area} {rest[:3]} {rest[3:]}"
    if country == "DE":
        if mobile:
            prefix = rng.choice(("151", "160", "170", "171", "176"))
            rest = _digits(rng, 8 if prefix in ("151", "176") else 7)
            return prefix + rest, f"0{prefix} {rest}"
        area = rng.choice(("30", "40", "89", "221", "69"))
        rest = _digits(rng, 8 if len(area) == 2 else 7)
        return area + rest, f"0{area} {rest}"
    if country == "BE":
        if mobile:
            prefix, rest = rng.choice(("470", "471", "475", "476", "485", "495")), _digits(rng, 6)
            return prefix + rest, f"0{prefix} {rest[:2]} {rest[2:4]} {rest[4:]}"
        area, rest = rng.choice(("2", "3")), rng.choice("234567") + _digits(rng, 6)
        return area + rest, f"0{area} {rest[:3]} {rest[3:5]} {rest[5:]}"
    if country == "FR":
        first = rng.choice("67") if mobile else rng.choice("12345")
        rest = rng.choice("01245" if first == "6" else "5678" if first == "7" else "234567") + _digits(rng, 7)
        pairs = " ".join(rest[i : i + 2] for i in range(0, 8, 2))
        return first + rest, f"0{first} {pairs}"
    if country == "GB":  # landlines in the Ofcom range reserved for drama: 020 7946 0xxx
        if mobile:
            rest = rng.choice("45789") + _digits(rng, 8)
            return "7" + rest, f"07{rest[:3]} {rest[3:]}"
        rest = _digits(rng, 3)
        return "2079460" + rest, f"020 7946 0{rest}"
    if country == "US":  # 555-01xx is reserved for fiction
        return f"202555{rng.randrange(100, 200):04d}", None
    if country == "CH":
        return rng.choice(("79", "78", "44")) + _digits(rng, 7), None
    if country == "AT":
        return rng.choice(("664", "660", "676")) + _digits(rng, 7), None
    if country == "ES":
        return rng.choice("67") + _digits(rng, 8), None
    if country == "IT":
        return "3" + rng.choice("2345") + _digits(rng, 8), None
    if country == "SE":
        return "7" + rng.choice("0236") + _digits(rng, 7), None
    return "87" + _digits(rng, 7), None  # IE mobile


def _mess_up(
    rng: Draws, email: str | None, phone: str | None, country: str | None
) -> tuple[str | None, str | None, str | None]:
    """Damage one or two of the contact fields the way hand-kept CRMs do."""
    for _ in range(rng.randrange(1, 3)):
        damage = rng.randrange(6)
        if damage == 0 and email:
            email = rng.choice((email.split("@")[0] + "@", email.rsplit(".", 1)[0], email.replace("@", " @ "),
                                email.replace("@", "@@"), email.replace(".", ",", 1)))  # fmt: skip
        elif damage == 1:
            email = None
        elif damage == 2:
            phone = rng.choice(
                ("06-1234", "n/a", "+31 6 123", "0000000000", "tel: onbekend", "+49 (0) 30 12")
            )
        elif damage == 3:
            phone = None
        else:
            country = None
    return email, phone, country
