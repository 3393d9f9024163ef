"""Process counters in the Prometheus text exposition format (version 0.0.4), thread-safe, no dependency.

Counters only grow; gauges (the queue depth) are read from the store when ``/metrics`` is scraped. Label
values are CRM names and reason codes, never data from a request.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Iterable, Mapping

__all__ = ["COUNTERS", "Metrics", "render_gauge"]

Labels = tuple[tuple[str, str], ...]

COUNTERS: Mapping[str, str] = {
    "lawful_crm_webhook_requests_total": "Webhook requests answered, by CRM and HTTP status.",
    "lawful_crm_webhook_events_received_total": "Events in accepted deliveries, by CRM.",
    "lawful_crm_webhook_events_queued_total": "Events stored in the queue, by CRM.",
    "lawful_crm_webhook_events_duplicate_total": "Events absorbed as redeliveries, by CRM.",
    "lawful_crm_webhook_events_ignored_total": "Events that cannot change a decision, by CRM and reason.",
    "lawful_crm_webhook_rejected_total": "Deliveries refused, by CRM and reason.",
    "lawful_crm_worker_events_total": "Queued events settled by the worker, by CRM and outcome.",
    "lawful_crm_decisions_total": "Records decided, by CRM and trigger (webhook or sync).",
    "lawful_crm_writes_total": "Records whose flags were written, by CRM and trigger.",
    "lawful_crm_write_failures_total": "Records whose write failed, by CRM and trigger.",
    "lawful_crm_forgotten_total": "People whose audit entries were erased after a deletion, by CRM.",
    "lawful_crm_api_calls_total": "CRM API calls made, by CRM and trigger.",
    "lawful_crm_errors_total": "Failures by CRM and error code (worker batches, syncs, the store).",
    "lawful_crm_syncs_total": "Scheduled syncs, by CRM and outcome.",
}


def _labels(labels: Mapping[str, str]) -> Labels:
    return tuple(sorted(labels.items()))


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _sample(name: str, labels: Labels, value: float) -> str:
    text = ",".join(f'{key}="{_escape(val)}"' for key, val in labels)
    number = int(value) if float(value).is_integer() else value
    return f"{name}{{{text}}} {number}" if text else f"{name} {number}"


def render_gauge(name: str, help_text: str, samples: Iterable[tuple[Mapping[str, str], float]]) -> str:
    """One gauge family in the text format."""
    lines = [f"# HELP {name} {help_text}", f"# TYPE {name} gauge"]
    lines += [_sample(name, _labels(labels), value) for labels, value in samples]
    return "\n".join(lines) + "\n"


class Metrics:
    """The counters of one ``serve`` process, shared by the receiver, the worker and the scheduler."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: dict[str, dict[Labels, float]] = defaultdict(dict)

    def inc(self, name: str, amount: float = 1, **labels: str) -> None:
        """Add ``amount`` to the counter ``name`` (one of COUNTERS) with these labels."""
        if name not in COUNTERS:
            raise KeyError(name)
        if amount <= 0:
            return
        key = _labels(labels)
        with self._lock:
            series = self._values[name]
            series[key] = series.get(key, 0) + amount

    def value(self, name: str, **labels: str) -> float:
        """The current value of one series (0 when never counted)."""
        with self._lock:
            return self._values.get(name, {}).get(_labels(labels), 0)

    def total(self, name: str) -> float:
        """The sum of every series of ``name``."""
        with self._lock:
            return sum(self._values.get(name, {}).values())

    def render(self) -> str:
        """Every counter family in the text format (families never counted are listed with no samples)."""
        with self._lock:
            snapshot = {name: dict(series) for name, series in self._values.items()}
        parts = []
        for name, help_text in COUNTERS.items():
            lines = [f"# HELP {name} {help_text}", f"# TYPE {name} counter"]
            lines += [
                _sample(name, labels, value) for labels, value in sorted(snapshot.get(name, {}).items())
            ]
            parts.append("\n".join(lines) + "\n")
        return "".join(parts)
