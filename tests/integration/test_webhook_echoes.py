"""Salesforce Outbound Messages that echo lawful-crm's own writes (``LastModifiedById`` is the integration user)
are acknowledged and dropped before they are queued; a person's edit in the same message is queued."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from connector.settings import SalesforceConfig
from connector.store import open_store
from connector.webhooks.events import outbound_intake
from connector.webhooks.outbound import ACK, MalformedMessage, parse_outbound_message
from tests.integration.test_webhook_receiver import (
    ORG,
    PATH_SECRET,
    Running,
    receiver_config,
    serve_in_thread,
)

INTEGRATION_USER = "005000000000042AAA"
SALES_REP = "005000000000077AAA"


def outbound(*changes: tuple[str, str | None], org: str = ORG) -> bytes:
    """An Outbound Message: one notification per (notification id, LastModifiedById or None)."""
    items = "".join(
        f'<Notification><Id>{n}</Id><sObject xsi:type="sf:Contact" xmlns:sf="urn:sobject.enterprise.soap.sforce.com">'
        f"<sf:Id>0037F00000AbC{n[-5:]}</sf:Id>"
        + (f"<sf:LastModifiedById>{by}</sf:LastModifiedById>" if by else "")
        + "</sObject></Notification>"
        for n, by in changes
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"'
        ' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body>'
        f'<notifications xmlns="http://soap.sforce.com/2005/09/outbound"><OrganizationId>{org}</OrganizationId>'
        f"{items}</notifications></soapenv:Body></soapenv:Envelope>"
    ).encode()


def test_the_notification_names_who_made_the_change() -> None:
    message = parse_outbound_message(
        outbound(("04l000000000101AAA", SALES_REP), ("04l000000000102AAA", None))
    )
    assert [n.last_modified_by for n in message.notifications] == [SALES_REP, None]


def test_a_last_modified_by_that_is_no_salesforce_id_is_malformed() -> None:
    with pytest.raises(MalformedMessage):
        parse_outbound_message(outbound(("04l000000000103AAA", "<script>")))


@pytest.mark.parametrize("configured", [INTEGRATION_USER, INTEGRATION_USER[:15]])
def test_echoes_of_the_integration_user_are_ignored_and_other_changes_queued(configured: str) -> None:
    """15- and 18-character forms of the user id match; a notification without the field is queued (safe)."""
    message = parse_outbound_message(
        outbound(
            ("04l000000000111AAA", INTEGRATION_USER),
            ("04l000000000112AAA", SALES_REP),
            ("04l000000000113AAA", None),
        )
    )
    intake = outbound_intake(message, {"Contact"}, integration_user=configured)
    assert [event.dedupe_key for event in intake.events] == ["04l000000000112AAA", "04l000000000113AAA"]
    assert intake.ignored == {"own_change": 1}
    assert outbound_intake(message, {"Contact"}).ignored == {}, "no integration user set: nothing is dropped"


def test_the_integration_user_setting_takes_only_a_user_id() -> None:
    base = {"auth": "session", "session_id": "x", "instance_url": "https://x.my.salesforce.com"}
    assert (
        SalesforceConfig(**base, integration_user_id=INTEGRATION_USER).integration_user_id == INTEGRATION_USER
    )
    with pytest.raises(ValueError):
        SalesforceConfig(**base, integration_user_id="003000000000042AAA")


@pytest.fixture
def receiving(tmp_path: Path) -> Iterator[Running]:
    store = open_store(f"sqlite:///{tmp_path / 'store.db'}")
    config = receiver_config()
    assert config.salesforce is not None
    salesforce = dataclasses.replace(config.salesforce, integration_user=INTEGRATION_USER)
    server, thread, metrics = serve_in_thread(dataclasses.replace(config, salesforce=salesforce), store)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield Running(f"http://127.0.0.1:{port}", store, metrics)
    server.should_exit = True
    thread.join(10)
    store.close()


def test_the_receiver_acknowledges_echoes_and_queues_only_the_persons_edit(receiving: Running) -> None:
    """Salesforce gets its Ack for every notification (or it would resend); only the sales rep's edit waits."""
    body = outbound(
        ("04l000000000121AAA", INTEGRATION_USER),
        ("04l000000000122AAA", INTEGRATION_USER),
        ("04l000000000123AAA", SALES_REP),
    )
    response = httpx.post(f"{receiving.base}/webhooks/salesforce/{PATH_SECRET}", content=body, timeout=30)
    assert (response.status_code, response.content) == (200, ACK)
    assert receiving.queued() == 1
    claimed = receiving.store.queue.claim(now=datetime(2100, 1, 1, tzinfo=UTC), limit=10, lease=timedelta(1))
    assert [event.record_id for event in claimed] == ["0037F00000AbC23AAA"]
    assert (
        receiving.metric("lawful_crm_webhook_events_ignored_total", crm="salesforce", reason="own_change")
        == 2
    )
