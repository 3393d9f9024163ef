"""The nightly schedule of ``serve``: the incremental sync of each CRM on a cron expression, then housekeeping.

Each sync holds the store lease ``sync:<crm>`` (``sync_one`` takes it, as ``lawful-crm sync`` does), so two syncs
of one CRM never run at once, in this process or any other sharing the store; a CRM whose lease is held is
skipped. Housekeeping prunes audit entries older than the retention period (each live record's latest entry
stays) and settled queue events older than the CRMs' redelivery windows.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter  # type: ignore[import-untyped,unused-ignore]  # no stubs shipped

from connector.errors import ConfigurationError, SyncAlreadyRunning
from connector.store import Store
from connector.sync.run import SyncResult
from connector.webhooks.metrics import Metrics

__all__ = [
    "DEDUPE_WINDOW",
    "Scheduler",
    "count_sync",
    "fires_at",
    "months_before",
    "next_run",
    "utc_superset",
    "validate_schedule",
]

log = logging.getLogger("lawful_crm.schedule")

DEDUPE_WINDOW = timedelta(days=7)
"""Settled events are kept this long to recognise redeliveries (HubSpot and Salesforce retry for 24 hours)."""
_MAX_SLEEP_S = 60.0

SyncOne = Callable[[str], SyncResult]
"""Runs the incremental sync of one CRM under its lease (``bootstrap.App.sync``); raises SyncAlreadyRunning
when another sync holds it."""


def validate_schedule(schedule: str, time_zone: str) -> None:
    """Raise ConfigurationError unless the cron expression and the time zone are valid."""
    problems = []
    if not croniter.is_valid(schedule):
        problems.append("sync.schedule: not a valid cron expression (minute hour day month weekday)")
    try:
        ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        problems.append("sync.time_zone: not a known IANA time zone (e.g. Europe/Amsterdam)")
    if problems:
        raise ConfigurationError("invalid schedule", problems=tuple(problems))


def next_run(schedule: str, time_zone: str, after: datetime) -> datetime:
    """The first time after ``after`` that the cron expression fires in ``time_zone``, in UTC.

    A wall-clock time fires once: in the hour a zone repeats when its clocks go back, only the first occurrence
    fires (02:00 on the last Sunday of October in Amsterdam is one nightly run, not two).
    """
    zone = ZoneInfo(time_zone)
    moment = after
    while True:
        upcoming: datetime = croniter(schedule, moment.astimezone(zone)).get_next(datetime)
        if upcoming.astimezone(zone).fold == 0:
            return upcoming.astimezone(UTC)
        moment = upcoming  # the repeated hour's second occurrence of a time that already fired


def fires_at(schedule: str, time_zone: str, moment: datetime) -> bool:
    """Whether the cron expression fires at ``moment`` (to the second) in ``time_zone``: as ``next_run`` sees it."""
    return next_run(schedule, time_zone, moment - timedelta(seconds=1)) == moment.astimezone(UTC)


def utc_superset(schedule: str, time_zone: str, *, year: int | None = None) -> str:
    """A cron expression read in UTC that fires at least whenever ``schedule`` fires in ``time_zone``.

    For a clock that reads cron in UTC only (procrastinate's periodic tasks): it ticks on the superset and
    ``fires_at`` picks the ticks of the schedule. In a zone whose offsets are whole hours all year (winter and
    summer of ``year``) the schedule's minutes are kept, every hour; otherwise it ticks every minute.
    """
    fields = schedule.split()
    if len(fields) not in (5, 6):  # a macro such as @daily
        return "* * * * *"
    zone = ZoneInfo(time_zone)
    year = year or datetime.now(UTC).year
    offsets = [datetime(year, month, 1, 12, tzinfo=zone).utcoffset() for month in (1, 7)]
    whole = all(offset is not None and offset.total_seconds() % 3600 == 0 for offset in offsets)
    minutes = fields[0] if whole else "*"
    return " ".join([minutes, "*", "*", "*", "*", *fields[5:]])


def count_sync(metrics: Metrics, result: SyncResult) -> None:
    """Count one finished sync: its outcome, decisions, writes, API calls and 429s."""
    crm, tally = result.crm, result.tally
    metrics.inc("lawful_crm_syncs_total", crm=crm, outcome=result.outcome.value)
    metrics.inc("lawful_crm_decisions_total", tally.read, crm=crm, trigger="sync")
    metrics.inc("lawful_crm_writes_total", tally.written, crm=crm, trigger="sync")
    metrics.inc("lawful_crm_write_failures_total", tally.failed, crm=crm, trigger="sync")
    metrics.inc("lawful_crm_api_calls_total", result.api_calls, crm=crm, trigger="sync")
    metrics.inc("lawful_crm_api_throttled_total", result.throttled, crm=crm, trigger="sync")


def months_before(moment: datetime, months: int) -> datetime:
    """The same day and time ``months`` calendar months earlier (the last day when that month is shorter)."""
    index = moment.year * 12 + moment.month - 1 - months
    year, month = divmod(index, 12)
    month += 1
    following = datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=moment.tzinfo)
    last_day = (following - timedelta(days=1)).day
    return moment.replace(year=year, month=month, day=min(moment.day, last_day))


def _utc_now() -> datetime:
    return datetime.now(UTC)


class Scheduler:
    def __init__(
        self,
        store: Store,
        crms: Sequence[str],
        sync_one: SyncOne,
        metrics: Metrics,
        *,
        schedule: str,
        time_zone: str,
        retention_months: int,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self.store, self.crms, self.sync_one, self.metrics = store, tuple(crms), sync_one, metrics
        self.schedule, self.time_zone, self.retention_months = schedule, time_zone, retention_months
        self.clock = clock

    def run(self, stop: threading.Event) -> None:
        """Fire at every scheduled time until ``stop``."""
        while not stop.is_set():
            due = next_run(self.schedule, self.time_zone, self.clock())
            log.info("next scheduled sync at %s UTC", due.strftime("%Y-%m-%d %H:%M"))
            while (remaining := (due - self.clock()).total_seconds()) > 0:
                if stop.wait(min(remaining, _MAX_SLEEP_S)):
                    return
            self.fire(stop)

    def fire(self, stop: threading.Event | None = None) -> None:
        """Sync each CRM in turn (skipping one another process is syncing), then do the housekeeping."""
        for crm in self.crms:
            if stop is not None and stop.is_set():
                return
            self.sync_locked(crm)
        self.housekeeping()

    def sync_locked(self, crm: str) -> SyncResult | None:
        """Run one CRM's sync (under its store lease); None when another sync holds it or the sync failed."""
        try:
            result = self.sync_one(crm)
        except SyncAlreadyRunning:
            log.info("%s: another sync of this CRM is running; the scheduled sync is skipped", crm)
            self.metrics.inc("lawful_crm_syncs_total", crm=crm, outcome="skipped")
            return None
        except Exception as error:
            log.error("%s: the scheduled sync failed: %s", crm, type(error).__name__)
            self.metrics.inc("lawful_crm_syncs_total", crm=crm, outcome="failed")
            self.metrics.inc("lawful_crm_errors_total", crm=crm, code=type(error).__name__)
            return None
        count_sync(self.metrics, result)
        return result

    def housekeeping(self) -> None:
        """Apply the audit retention and forget settled queue events past the redelivery window."""
        now = self.clock()
        try:
            pruned = self.store.audit.prune(months_before(now, self.retention_months))
            settled = self.store.queue.prune_done(now - DEDUPE_WINDOW)
        except Exception as error:
            log.error("housekeeping failed: %s", type(error).__name__)
            self.metrics.inc("lawful_crm_errors_total", crm="all", code=type(error).__name__)
            return
        log.info(
            "housekeeping: %s audit entries past retention pruned, %s settled events forgotten",
            pruned,
            settled,
        )
