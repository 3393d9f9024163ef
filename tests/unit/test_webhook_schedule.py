"""The schedule's pure parts: the next cron time in the configured zone, retention months, backoff, metrics."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families

from connector.errors import ConfigurationError
from connector.store.queue import retry_delay
from connector.webhooks.metrics import Metrics
from connector.webhooks.schedule import months_before, next_run, validate_schedule


def test_the_default_schedule_fires_at_two_at_night_local_time_in_summer_and_winter() -> None:
    summer = next_run("0 2 * * *", "Europe/Amsterdam", datetime(2026, 7, 1, 12, 0, tzinfo=UTC))
    winter = next_run("0 2 * * *", "Europe/Amsterdam", datetime(2026, 1, 1, 12, 0, tzinfo=UTC))
    assert summer == datetime(2026, 7, 2, 0, 0, tzinfo=UTC)
    assert winter == datetime(2026, 1, 2, 1, 0, tzinfo=UTC)


def test_the_next_run_is_strictly_after_the_given_moment() -> None:
    at_two = datetime(2026, 1, 2, 1, 0, tzinfo=UTC)
    assert next_run("0 2 * * *", "Europe/Amsterdam", at_two) == at_two + timedelta(days=1)


def test_an_invalid_cron_expression_or_zone_is_a_configuration_error() -> None:
    validate_schedule("*/15 * * * *", "UTC")
    with pytest.raises(ConfigurationError) as caught:
        validate_schedule("every night", "Mars/Olympus_Mons")
    assert len(caught.value.problems) == 2


@pytest.mark.parametrize(
    ("moment", "months", "expected"),
    [
        (datetime(2026, 11, 28, 2, tzinfo=UTC), 24, datetime(2024, 11, 28, 2, tzinfo=UTC)),
        (datetime(2026, 3, 31, tzinfo=UTC), 1, datetime(2026, 2, 28, tzinfo=UTC)),
        (datetime(2026, 1, 15, tzinfo=UTC), 1, datetime(2025, 12, 15, tzinfo=UTC)),
        (datetime(2028, 2, 29, tzinfo=UTC), 12, datetime(2027, 2, 28, tzinfo=UTC)),
    ],
)
def test_retention_counts_calendar_months(moment: datetime, months: int, expected: datetime) -> None:
    assert months_before(moment, months) == expected


def test_retries_back_off_doubling_up_to_half_an_hour() -> None:
    delays = [retry_delay(n) for n in range(1, 12)]
    assert delays[:4] == [timedelta(seconds=s) for s in (5, 10, 20, 40)]
    assert delays == sorted(delays) and delays[-1] == timedelta(minutes=30)


def test_metrics_render_the_prometheus_text_format() -> None:
    metrics = Metrics()
    metrics.inc("lawful_crm_webhook_rejected_total", crm="hubspot", reason="bad_signature")
    metrics.inc("lawful_crm_webhook_rejected_total", 2, crm="hubspot", reason="bad_signature")
    text = metrics.render()
    assert "# TYPE lawful_crm_webhook_rejected_total counter" in text
    families = {family.name: family for family in text_string_to_metric_families(text)}
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for s in families["lawful_crm_webhook_rejected"].samples
    }
    assert samples == {
        ("lawful_crm_webhook_rejected_total", (("crm", "hubspot"), ("reason", "bad_signature"))): 3.0
    }
    assert "lawful_crm_api_throttled_total" in text and "_created" not in text
    with pytest.raises(KeyError):
        metrics.inc("not_a_declared_counter")
    with pytest.raises(ValueError, match="label"):
        metrics.inc("lawful_crm_webhook_rejected_total", crm="hubspot")  # a label left out
