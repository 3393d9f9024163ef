"""Alerts after each sync (``[alerts] webhook_url``): a JSON ``{"text": …}`` POST, which Slack and Microsoft Teams
incoming webhooks both accept, when the run failed or the blast-radius guard refused it, when a do-not-call
register copy is older than its refresh period, or when a CRM's review backlog is above ``review_backlog_above``.

Read from the store after the run, however it ended (a run that raised is recorded failed too). Counts, run ids,
register names and error texts of the connector only: no personal data. Sending never fails a run: an
unreachable receiver is logged by status or error type, never with the URL (it holds the receiver's secret).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date

import requests

from connector.admin.overview import register_status
from connector.settings import AlertsConfig
from connector.store import RunOutcome, Store
from connector.store.overview import decision_counts

__all__ = ["Alert", "alert_after_run", "alerts_after_run", "send"]

log = logging.getLogger("lawful_crm.alerts")

SEND_TIMEOUT_S = 10.0

Post = Callable[..., requests.Response]


@dataclass(frozen=True, slots=True)
class Alert:
    kind: str
    """``run_failed``, ``guard_refused``, ``register_stale`` or ``review_backlog``."""
    text: str


def alerts_after_run(store: Store, crm: str, *, review_backlog_above: int | None, today: date) -> list[Alert]:
    """What deserves an alert after the newest run of ``crm``."""
    alerts = []
    newest = store.runs.recent(crm, limit=1)
    if newest:
        run = newest[0]
        why = run.counts.get("message") or "see lawful-crm runs"
        if run.outcome == RunOutcome.FAILED:
            alerts.append(Alert("run_failed", f"lawful-crm: the {crm} sync (run {run.id}) failed: {why}"))
        elif run.outcome == RunOutcome.REFUSED:
            alerts.append(
                Alert(
                    "guard_refused",
                    f"lawful-crm: the {crm} sync (run {run.id}) was refused by the guard: {why}",
                )
            )
    for register in register_status(store.engine, today):
        if register.stale:
            alerts.append(
                Alert(
                    "register_stale",
                    f"lawful-crm: the {register.list.value} copy is {register.age_days} days old, more than its "
                    f"{register.max_age_days}: import a new one (lawful-crm dnc import)",
                )
            )
    if review_backlog_above is not None:
        backlog = decision_counts(store.engine, crm).review
        if backlog > review_backlog_above:
            alerts.append(
                Alert(
                    "review_backlog",
                    f"lawful-crm: {backlog:,} {crm} records await review (alert above {review_backlog_above:,})",
                )
            )
    return alerts


def send(url: str, alerts: Sequence[Alert], *, post: Post = requests.post) -> bool:
    """POST the alerts as one message; False (logged) when the receiver did not take it."""
    text = "\n".join(alert.text for alert in alerts)
    try:
        response = post(url, json={"text": text}, timeout=SEND_TIMEOUT_S)
    except requests.RequestException as error:
        log.warning("alert not sent: %s", type(error).__name__)
        return False
    if not response.ok:
        log.warning("alert not sent: the receiver answered %s", response.status_code)
        return False
    log.info("alert sent: %s", ", ".join(alert.kind for alert in alerts))
    return True


def alert_after_run(config: AlertsConfig, store: Store, crm: str, *, today: date) -> list[Alert]:
    """Send the alerts the newest run of ``crm`` calls for, when ``[alerts] webhook_url`` is set; never raises."""
    if config.webhook_url is None:
        return []
    try:
        alerts = alerts_after_run(store, crm, review_backlog_above=config.review_backlog_above, today=today)
    except Exception as error:  # an alert must never fail the run it reports on
        log.warning("alerts not checked: %s", type(error).__name__)
        return []
    if alerts:
        send(config.webhook_url.get_secret_value(), alerts)
    return alerts
