"""Shared handling of do-not-call registers for the opt-out countries (BE, FR before 2026-08-11, UK)."""

from __future__ import annotations

from connector.models import RegisterList, Screening
from connector.policy.rule import Outcome, deny
from connector.policy.situation import Situation

__all__ = ["unchecked_register"]


def unchecked_register(s: Situation, register: RegisterList, screening: Screening | None) -> Outcome | None:
    """A restrictive outcome when the register was not screened recently enough, else None."""
    if s.screening_is_current(screening):
        return None
    days = s.settings.dnc_screen_max_age_days
    return deny(
        f"The number has not been screened against {register.value} in the last {days} days, so it may not be"
        " called until it is.",
        review=True,
        actions=(f"screen_list:{register.value}",),
    )
