"""One run of the run log as ``lawful-crm runs`` and the run report show it: counts, flag moves by direction,
duration. Counts only: no record id, no personal data."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from connector.mapping.own_fields import FLAGS
from connector.store import RunRow

__all__ = ["flag_moves", "run_summary"]

_PERMISSIVE: dict[str, str] = {flag.role: str(flag.permissive).lower() for flag in FLAGS}
"""Flag role -> its permissive value as a run's transitions spell it."""


def flag_moves(transitions: Mapping[str, int]) -> dict[str, int]:
    """Flag transitions by direction: ``opened`` (a call or e-mail now allowed that was not), ``closed`` (the
    reverse) and ``first`` (a flag written where none was)."""
    moves = {"opened": 0, "closed": 0, "first": 0}
    for key, count in transitions.items():
        flag, _, change = key.partition(": ")
        old, _, new = change.partition("→")
        if old == "unset":
            moves["first"] += count
            continue
        permissive = new == _PERMISSIVE.get(flag, "true")
        moves["opened" if permissive else "closed"] += count
    return moves


def run_summary(run: RunRow) -> dict[str, Any]:
    """One run as the history shows it (JSON-ready)."""
    counts = run.counts
    duration = (run.finished_at - run.started_at).total_seconds() if run.finished_at is not None else None
    return {
        "id": run.id,
        "crm": run.crm,
        "started_at": run.started_at.isoformat(),
        "kind": run.kind,
        "outcome": run.outcome,
        "as_of": run.as_of.isoformat() if run.as_of is not None else None,
        "read": counts.get("read", 0),
        "redecided": counts.get("redecided", 0),
        "written": counts.get("written", 0),
        "flags": flag_moves(counts.get("transitions") or {}),
        "review_needed": counts.get("review", 0),
        "failed": counts.get("failed", 0),
        "parked": counts.get("parked", 0),
        "api_calls": counts.get("api_calls"),
        "bulk_calls": (counts.get("bulk") or {}).get("calls", 0),
        "transfers": list(counts.get("transfers") or []),
        "quota_remaining": counts.get("quota_remaining"),
        "duration_s": round(duration, 1) if duration is not None else None,
        "message": counts.get("message"),
    }
