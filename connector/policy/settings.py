"""The settings that change decisions, and the policy id that names them."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, fields

from connector.models import Profile

__all__ = ["RULESET_VERSION", "PolicySettings"]

RULESET_VERSION = "2026.12.1"
"""Bumped with every change to what the rules decide, so the policy id changes and every stored decision is made
again (2026.12.1: a data issue on e-mail, G8, comes before the missing address, G9)."""


@dataclass(frozen=True, slots=True)
class PolicySettings:
    """Tunable policy parameters (canonical-model.md, "Settings that change results").

    Every field here is part of the policy id, so two decisions made under different settings never look alike.
    """

    profile: Profile = Profile.CONSERVATIVE
    consent_max_idle_months: int = 24
    soft_opt_in_max_months: int = 36
    dnc_screen_max_age_days: int = 30
    uk_tps_grace_days: int = 28
    sender_is_charity_or_publisher: bool = False
    policy_id: str = field(init=False, compare=False)

    def __post_init__(self) -> None:
        for name in ("consent_max_idle_months", "soft_opt_in_max_months", "dnc_screen_max_age_days"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative")
        if self.uk_tps_grace_days < 0:
            raise ValueError("uk_tps_grace_days must not be negative")
        material = repr((RULESET_VERSION, *(getattr(self, f.name) for f in fields(self) if f.init))).encode()
        digest = hashlib.sha256(material).hexdigest()[:8]
        object.__setattr__(self, "policy_id", f"lawful-use {RULESET_VERSION} {self.profile.value} {digest}")
