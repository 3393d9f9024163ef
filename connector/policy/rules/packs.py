"""The country packs: one entry per jurisdiction with its phone and e-mail rules, in precedence order.

The one list the engine and the gates read: a country is covered (G6 lets it through, L1 checks it) exactly when
it has an entry here. Adding a country: a module beside ``nl.py`` with its PHONE and EMAIL rules, an entry
below, what its rules read beyond the common rules in ``policy/signature.py`` (the engine remembers decisions by
it), its citations in the common rules (``citations=``), its rows in the rule-table test, and a line in the
README's rule summary (docs/adding-a-country.md).
"""

from __future__ import annotations

from dataclasses import dataclass

from connector.policy.rule import Rule
from connector.policy.rules import be, de, fr, nl, uk

__all__ = ["PACKS", "PACK_COUNTRIES", "Pack", "pack_for"]


@dataclass(frozen=True, slots=True)
class Pack:
    country: str
    """ISO 3166-1 alpha-2, as ContactFacts.country holds it (GB for the United Kingdom)."""
    phone: tuple[Rule, ...]
    email: tuple[Rule, ...]


PACKS: tuple[Pack, ...] = (
    Pack("NL", nl.PHONE, nl.EMAIL),
    Pack("DE", de.PHONE, de.EMAIL),
    Pack("BE", be.PHONE, be.EMAIL),
    Pack("FR", fr.PHONE, fr.EMAIL),
    Pack("GB", uk.PHONE, uk.EMAIL),
)
PACK_COUNTRIES = frozenset(pack.country for pack in PACKS)
_BY_COUNTRY = {pack.country: pack for pack in PACKS}


def pack_for(country: str | None) -> Pack | None:
    return _BY_COUNTRY.get(country or "")
