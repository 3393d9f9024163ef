"""The metrics of ``/metrics`` (prometheus-client), and the gauges read from the store when it is scraped.

Counters and the receipt-to-flag histogram belong to the process that counts them. When serve and workers run
as separate processes on one machine, give them one ``PROMETHEUS_MULTIPROC_DIR`` (an empty directory, emptied
before they start): each process writes its values there and any of them answers ``/metrics`` with the sums of
all, so counts add up across processes and survive a worker's restart. Without it a process answers its own
values (one ``serve``; or scrape each worker's ``--metrics-port`` and let Prometheus sum them).

Gauges are not counted by any process: the queue depth, the dead letters and the last successful sync of each
CRM are read from the store at each scrape, so every process, on every machine, tells the same truth.

Label values are CRM names, triggers, statuses and reason or error codes, never data from a request or record.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import timedelta

from prometheus_client import CollectorRegistry, Counter, Histogram, disable_created_metrics, generate_latest
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector

from connector.crm.port import ApiUsage
from connector.errors import ConfigurationError, StoreUnavailable
from connector.store.queue import EventQueue
from connector.store.runs import RunLog

__all__ = [
    "COUNTERS",
    "FLAG_LATENCY",
    "MULTIPROC_DIR",
    "Metrics",
    "StoreGauges",
    "check_multiproc_dir",
    "multiproc_dir",
]

MULTIPROC_DIR = "PROMETHEUS_MULTIPROC_DIR"

COUNTERS: Mapping[str, tuple[str, tuple[str, ...]]] = {
    "lawful_crm_webhook_requests_total": ("Webhook requests answered, by CRM and HTTP status.", ("crm", "status")),
    "lawful_crm_webhook_events_received_total": ("Events in accepted deliveries, by CRM.", ("crm",)),
    "lawful_crm_webhook_events_queued_total": ("Events stored in the queue, by CRM.", ("crm",)),
    "lawful_crm_webhook_events_duplicate_total": ("Events absorbed as redeliveries, by CRM.", ("crm",)),
    "lawful_crm_webhook_events_ignored_total": (
        "Events that cannot change a decision, by CRM and reason.", ("crm", "reason"),
    ),
    "lawful_crm_webhook_rejected_total": ("Deliveries refused, by CRM and reason.", ("crm", "reason")),
    "lawful_crm_worker_events_total": ("Queued events settled by the worker, by CRM and outcome.", ("crm", "outcome")),
    "lawful_crm_decisions_total": ("Records decided, by CRM and trigger (webhook or sync).", ("crm", "trigger")),
    "lawful_crm_writes_total": ("Records whose flags were written, by CRM and trigger.", ("crm", "trigger")),
    "lawful_crm_write_failures_total": ("Records whose write failed, by CRM and trigger.", ("crm", "trigger")),
    "lawful_crm_forgotten_total": ("People whose audit entries were erased after a deletion, by CRM.", ("crm",)),
    "lawful_crm_api_calls_total": ("CRM API calls made, by CRM and trigger.", ("crm", "trigger")),
    "lawful_crm_api_throttled_total": (
        "CRM API calls answered 429 (rate-limited), by CRM and trigger.", ("crm", "trigger"),
    ),
    "lawful_crm_errors_total": (
        "Failures by CRM and error code (worker batches, syncs, the store).", ("crm", "code"),
    ),
    "lawful_crm_syncs_total": ("Scheduled syncs, by CRM and outcome.", ("crm", "outcome")),
}  # fmt: skip
"""Every counter: its help text and label names."""

FLAG_LATENCY = "lawful_crm_webhook_to_flag_seconds"
_LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 900, 1800, 3600, 7200)

disable_created_metrics()  # type: ignore[no-untyped-call]  # the ``_created`` series exist in one mode only; leave them out in both


def multiproc_dir() -> str | None:
    """The directory this process shares its values through, when set (read by prometheus-client at import)."""
    return os.environ.get(MULTIPROC_DIR) or None


def check_multiproc_dir() -> None:
    """Raise ConfigurationError when ``PROMETHEUS_MULTIPROC_DIR`` names no writable directory."""
    path = multiproc_dir()
    if path is not None and not (os.path.isdir(path) and os.access(path, os.W_OK)):
        raise ConfigurationError(
            f"{MULTIPROC_DIR} is not a writable directory",
            problems=(f"create it (empty) before starting serve and the workers, or unset {MULTIPROC_DIR}",),
        )


class Metrics:
    """The counters and the histogram of one process, shared by its threads (receiver, worker, scheduler)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._counters = {
            name: Counter(name, text, labels, registry=self.registry)
            for name, (text, labels) in COUNTERS.items()
        }
        self._latency = Histogram(
            FLAG_LATENCY,
            "Seconds from a webhook event's receipt to its record's flags decided and written, by CRM.",
            ("crm",),
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self._lock = threading.Lock()
        self._usage_seen: dict[int, tuple[object, ApiUsage]] = {}
        """The last usage counted of each long-lived adapter, by identity (the adapter is kept: no id reuse)."""

    def inc(self, name: str, amount: float = 1, **labels: str) -> None:
        """Add ``amount`` to the counter ``name`` (one of COUNTERS) with exactly its labels."""
        counter = self._counters[name]
        if amount > 0:
            counter.labels(**labels).inc(amount)

    def settled(self, crm: str, waits: Iterable[timedelta]) -> None:
        """Events of ``crm`` settled after waiting these times since their receipt."""
        child = self._latency.labels(crm=crm)
        for wait in waits:
            child.observe(max(wait.total_seconds(), 0.0))

    def api_usage(self, crm: str, trigger: str, adapter: object, usage: ApiUsage) -> None:
        """Count the calls and 429s ``adapter`` made since its usage was last counted here."""
        with self._lock:
            seen = self._usage_seen.get(id(adapter), (adapter, ApiUsage(calls=0)))[1]
            self._usage_seen[id(adapter)] = (adapter, usage)
        self.inc("lawful_crm_api_calls_total", usage.calls - seen.calls, crm=crm, trigger=trigger)
        self.inc("lawful_crm_api_throttled_total", usage.throttled - seen.throttled, crm=crm, trigger=trigger)

    def value(self, name: str, **labels: str) -> float:
        """This process's value of one series (0 when never counted)."""
        return self.registry.get_sample_value(name, labels) or 0.0

    def total(self, name: str) -> float:
        """The sum of every series of ``name`` in this process."""
        return sum(
            sample.value
            for family in self.registry.collect()
            for sample in family.samples
            if sample.name == name
        )

    def scrape(self, *gauges: StoreGauges) -> CollectorRegistry:
        """What ``/metrics`` answers, collected anew at each scrape: the values of every process sharing the
        multiprocess directory (this one's alone without it), and the store's gauges."""
        registry = CollectorRegistry(auto_describe=False)
        if multiproc_dir() is not None:
            MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        else:
            registry.register(_Own(self.registry))
        for collector in gauges:
            registry.register(collector)
        return registry

    def render(self, *gauges: StoreGauges) -> str:
        """The text exposition format (0.0.4) of ``scrape``."""
        return generate_latest(self.scrape(*gauges)).decode()


class _Own:
    """One process's registry as a collector of the scrape registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self._registry = registry

    def collect(self) -> Iterable[Metric]:
        return self._registry.collect()


class StoreGauges:
    """Gauges read from the store at each scrape; a store that fails leaves them without samples. The ``crms``
    are reported with a depth of 0 when none of their events waits, so their series never disappear."""

    def __init__(self, queue: EventQueue, runs: RunLog | None = None, *, crms: Sequence[str] = ()) -> None:
        self.queue, self.runs, self.crms = queue, runs, tuple(crms)

    def collect(self) -> Iterator[Metric]:
        depth = GaugeMetricFamily(
            "lawful_crm_queue_depth",
            "Queued events by CRM and status: pending (waiting or being retried) and dead (dead letters).",
            labels=("crm", "status"),
        )
        last = GaugeMetricFamily(
            "lawful_crm_last_sync_success_timestamp_seconds",
            "When the latest completed sync of each CRM finished (unix seconds), by kind: full, incremental, "
            "or shard (one shard of a sharded full sync).",
            labels=("crm", "kind"),
        )
        try:
            counted = {row.crm: (row.pending, row.dead) for row in self.queue.depth(settled=False)}
            for crm in sorted(set(self.crms) | set(counted)):
                pending, dead = counted.get(crm, (0, 0))
                depth.add_metric([crm, "pending"], pending)
                depth.add_metric([crm, "dead"], dead)
            finished = self.runs.last_completed() if self.runs is not None else {}
        except StoreUnavailable:
            finished = {}
        for (crm, kind), when in sorted(finished.items()):
            last.add_metric([crm, kind], when.timestamp())
        yield depth
        yield last
