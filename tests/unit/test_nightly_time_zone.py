"""The workers' nightly sync fires at the ``[sync] schedule`` read in ``[sync] time_zone``, although procrastinate
reads every periodic cron in UTC: its clock ticks on a UTC superset and defers the sync at the local time only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from connector.webhooks.schedule import fires_at, next_run, utc_superset

procrastinate = pytest.importorskip("procrastinate")

from procrastinate.periodic import PeriodicDeferrer  # noqa: E402
from procrastinate.testing import InMemoryConnector  # noqa: E402

from connector.jobs.tasks import NIGHTLY, NIGHTLY_CLOCK, JobSettings, job_app  # noqa: E402


@pytest.mark.parametrize(
    ("schedule", "zone", "superset"),
    [
        ("0 2 * * *", "Europe/Amsterdam", "0 * * * *"),
        ("15,45 3 * * 1-5", "America/New_York", "15,45 * * * *"),
        ("0 2 * * *", "Asia/Kolkata", "* * * * *"),  # +05:30: local minute 0 is minute 30 in UTC
        ("0 2 * * *", "Australia/Lord_Howe", "* * * * *"),  # +10:30 in winter, +11 in summer
        ("0 2 * * * 30", "UTC", "0 * * * * 30"),  # seconds stay
    ],
)
def test_the_utc_superset_keeps_the_minutes_only_where_every_offset_is_whole_hours(
    schedule: str, zone: str, superset: str
) -> None:
    assert utc_superset(schedule, zone, year=2026) == superset


def test_fires_at_agrees_with_the_next_run_of_serve() -> None:
    winter = datetime(2026, 1, 15, 1, 0, tzinfo=UTC)  # 02:00 CET
    assert fires_at("0 2 * * *", "Europe/Amsterdam", winter)
    assert not fires_at("0 2 * * *", "Europe/Amsterdam", winter + timedelta(hours=1)), (
        "02:00 UTC is 03:00 CET"
    )
    assert next_run("0 2 * * *", "Europe/Amsterdam", winter - timedelta(hours=3)) == winter


def deferred_nightly(zone: str, since: datetime, days: int) -> list[datetime]:
    """Run procrastinate's own periodic clock over ``days`` days and every tick it defers; return the times at
    which the nightly sync was deferred."""
    connector = InMemoryConnector()
    settings = JobSettings(nightly="0 2 * * *", time_zone=zone)
    app = job_app("postgresql+psycopg://unused@127.0.0.1/unused", settings=settings, connector=connector)
    (clock,) = [
        task for task in app.periodic_registry.periodic_tasks.values() if task.task.name == NIGHTLY_CLOCK
    ]
    until = (since + timedelta(days=days)).timestamp()
    ticks = list(
        PeriodicDeferrer(app.periodic_registry).get_timestamps(
            clock, since=int(since.timestamp()), until=until
        )
    )
    assert len(ticks) == 24 * days, "procrastinate ticks every hour on the schedule's minute"
    with app.open():
        for tick in ticks:
            clock.task(timestamp=tick)
            for job in [job for job in connector.jobs.values() if job["task_name"] == NIGHTLY]:
                job["status"] = "succeeded"  # run: the next night's job is not held by its queueing lock
    nights = [job for job in connector.jobs.values() if job["task_name"] == NIGHTLY]
    return [datetime.fromtimestamp(job["args"]["timestamp"], UTC) for job in nights]


def test_the_nightly_sync_is_deferred_at_two_in_the_night_in_amsterdam_winter_and_summer() -> None:
    winter = deferred_nightly("Europe/Amsterdam", datetime(2026, 1, 14, 12, tzinfo=UTC), days=2)
    assert winter == [datetime(2026, 1, 15, 1, tzinfo=UTC), datetime(2026, 1, 16, 1, tzinfo=UTC)]
    summer = deferred_nightly("Europe/Amsterdam", datetime(2026, 7, 14, 12, tzinfo=UTC), days=2)
    assert summer == [datetime(2026, 7, 15, 0, tzinfo=UTC), datetime(2026, 7, 16, 0, tzinfo=UTC)]
    utc = deferred_nightly("UTC", datetime(2026, 7, 14, 12, tzinfo=UTC), days=1)
    assert utc == [datetime(2026, 7, 15, 2, tzinfo=UTC)]


def test_the_night_the_clocks_go_back_syncs_once_and_the_night_they_go_forward_too() -> None:
    back = deferred_nightly("Europe/Amsterdam", datetime(2026, 10, 24, 12, tzinfo=UTC), days=2)
    assert back == [datetime(2026, 10, 25, 0, tzinfo=UTC), datetime(2026, 10, 26, 1, tzinfo=UTC)], (
        "02:00 comes twice on 25 October; it fires at the first"
    )
    forward = deferred_nightly("Europe/Amsterdam", datetime(2026, 3, 28, 12, tzinfo=UTC), days=2)
    assert forward == [datetime(2026, 3, 29, 1, tzinfo=UTC), datetime(2026, 3, 30, 0, tzinfo=UTC)], (
        "02:00 does not exist on 29 March; the run comes at 03:00 summer time"
    )
    half_hourly = [
        next_run("*/30 * * * *", "Europe/Amsterdam", datetime(2026, 10, 25, 0, 40, tzinfo=UTC)),
        next_run("*/30 * * * *", "Europe/Amsterdam", datetime(2026, 10, 25, 1, 10, tzinfo=UTC)),
    ]
    assert half_hourly == [datetime(2026, 10, 25, 2, tzinfo=UTC)] * 2, (
        "the repeated hour's times fired already"
    )
