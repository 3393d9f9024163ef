"""The receiver on a real uvicorn server on 127.0.0.1, over real HTTP: every refusal has its status, enqueues
nothing and is counted; redeliveries are absorbed; the server survives it all."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import func, select

from connector.store import Store, open_store
from connector.store.tables import events
from connector.webhooks.app import SIGNATURE_HEADER, TIMESTAMP_HEADER, create_app
from connector.webhooks.config import HubSpotReceiver, ReceiverConfig, SalesforceReceiver
from connector.webhooks.events import HubSpotRules
from connector.webhooks.metrics import Metrics
from connector.webhooks.outbound import ACK
from connector.webhooks.signatures import hubspot_v2_signature, hubspot_v3_signature, signed_json_signature

HUBSPOT_SECRET = "hubspot-client-secret-for-tests"
ORG = "00D000000000001AAA"
PATH_SECRET = "outbound-path-secret-0123456789"
SIGNING_SECRET = "signed-callout-secret-0123456789"
PUBLIC_URL = "https://hooks.example.test/lawful"


@dataclass
class Running:
    base: str
    store: Store
    metrics: Metrics

    def queued(self) -> int:
        with self.store.engine.connect() as db:
            return int(db.execute(select(func.count()).select_from(events)).scalar_one())

    def metric(self, name: str, **labels: str) -> float:
        return self.metrics.value(name, **labels)


def serve_in_thread(config: ReceiverConfig, store: Store) -> tuple[uvicorn.Server, threading.Thread, Metrics]:
    metrics = Metrics()
    app = create_app(config, store.queue, metrics)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, log_config=None, access_log=False, lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "the receiver did not start"
        time.sleep(0.005)
    return server, thread, metrics


def receiver_config(*, public_url: str | None = None, accept_v2: bool = False) -> ReceiverConfig:
    rules = HubSpotRules(own_properties=frozenset({"email_allowed"}), app_id=1160452)
    return ReceiverConfig(
        hubspot=HubSpotReceiver(HUBSPOT_SECRET, rules, accept_v2=accept_v2),
        salesforce=SalesforceReceiver(ORG, frozenset({"Contact", "Lead"}), PATH_SECRET, SIGNING_SECRET),
        public_base_url=public_url,
        max_body_bytes=1_048_576,
    )


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    store = open_store(f"sqlite:///{tmp_path_factory.mktemp('receiver') / 'store.db'}")
    server, thread, metrics = serve_in_thread(receiver_config(), store)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield Running(f"http://127.0.0.1:{port}", store, metrics)
    server.should_exit = True
    thread.join(10)
    store.close()


def now_ms() -> int:
    return int(time.time() * 1000)


def hubspot_batch(*event_ids: int, object_id: int = 151) -> bytes:
    return json.dumps(
        [{"eventId": i, "subscriptionType": "contact.propertyChange", "objectId": object_id, "portalId": 33,
          "propertyName": "lifecyclestage", "changeSource": "CRM_UI", "occurredAt": now_ms()} for i in event_ids]
    ).encode()  # fmt: skip


def post_hubspot(
    url: str, body: bytes, *, secret: str = HUBSPOT_SECRET, stamp: int | None = None, signed_uri: str | None = None,
    signed_body: bytes | None = None,
) -> httpx.Response:  # fmt: skip
    ts = str(stamp if stamp is not None else now_ms())
    signature = hubspot_v3_signature(
        secret,
        method="POST",
        uri=signed_uri or url,
        body=signed_body if signed_body is not None else body,
        timestamp=ts,
    )
    headers = {
        "X-HubSpot-Signature-v3": signature,
        "X-HubSpot-Request-Timestamp": ts,
        "Content-Type": "application/json",
    }
    return httpx.post(url, content=body, headers=headers, timeout=30)


def outbound_body(*notification_ids: str, org: str = ORG) -> bytes:
    items = "".join(
        f'<Notification><Id>{n}</Id><sObject xsi:type="sf:Contact" xmlns:sf="urn:sobject.enterprise.soap.sforce.com">'
        f"<sf:Id>0037F00000AbC{n[-5:]}</sf:Id></sObject></Notification>"
        for n in notification_ids
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"'
        ' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body>'
        f'<notifications xmlns="http://soap.sforce.com/2005/09/outbound"><OrganizationId>{org}</OrganizationId>'
        f"{items}</notifications></soapenv:Body></soapenv:Envelope>"
    ).encode()


def post_signed(
    url: str, payload: Any, *, stamp: int | None = None, secret: str = SIGNING_SECRET
) -> httpx.Response:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    ts = str(stamp if stamp is not None else now_ms())
    signature = signed_json_signature(secret, body=body, timestamp=ts)
    return httpx.post(
        url, content=body, headers={SIGNATURE_HEADER: signature, TIMESTAMP_HEADER: ts}, timeout=30
    )


def signed_events(*keys: str, org: str = ORG) -> dict[str, Any]:
    return {
        "organizationId": org,
        "events": [{"id": k, "sobject": "Lead", "recordId": "00Q7F00000XyZaBQAZ"} for k in keys],
    }


def test_a_signed_hubspot_batch_is_queued_and_its_redelivery_absorbed(running: Running) -> None:
    url = f"{running.base}/webhooks/hubspot"
    before = running.queued()
    first = post_hubspot(url, hubspot_batch(101, 102, 103))
    assert first.status_code == 200
    assert running.queued() == before + 3
    again = post_hubspot(url, hubspot_batch(101, 102, 103))  # HubSpot retried: same event ids
    assert again.status_code == 200
    assert running.queued() == before + 3
    assert running.metric("lawful_crm_webhook_events_duplicate_total", crm="hubspot") >= 3


REFUSED_HUBSPOT = {
    "forged signature": (401, "bad_signature"),
    "wrong secret": (401, "bad_signature"),
    "stale timestamp": (401, "stale_timestamp"),
    "future timestamp": (401, "future_timestamp"),
    "replayed body, one byte changed": (401, "bad_signature"),
    "no signature": (401, "missing_signature"),
    "invalid JSON": (400, "invalid_json"),
    "more than 100 events": (400, "too_many_events"),
    "10 MB body": (413, "body_too_large"),
    "10 MB body, chunked": (413, "body_too_large"),
}


def send_refused_hubspot(case: str, url: str) -> httpx.Response:
    body = hubspot_batch(201)
    if case == "forged signature":
        headers = {"X-HubSpot-Signature-v3": "HPW73RUtKmcYoEDADG0s6MmGFWUzWJKAW07r8RDgcQw=",
                   "X-HubSpot-Request-Timestamp": str(now_ms())}  # fmt: skip
        return httpx.post(url, content=body, headers=headers)
    if case == "wrong secret":
        return post_hubspot(url, body, secret="someone-elses-secret")
    if case == "stale timestamp":
        return post_hubspot(url, body, stamp=now_ms() - 301_000)
    if case == "future timestamp":
        return post_hubspot(url, body, stamp=now_ms() + 120_000)
    if case == "replayed body, one byte changed":
        return post_hubspot(url, body.replace(b"201", b"202"), signed_body=body)
    if case == "no signature":
        return httpx.post(url, content=body)
    if case == "invalid JSON":
        return post_hubspot(url, b"[{not json")
    if case == "more than 100 events":
        return post_hubspot(url, hubspot_batch(*range(300, 401)))
    if case == "10 MB body":
        return post_hubspot(url, b"[" + b" " * 10_000_000 + b"]")

    def chunks() -> Iterator[bytes]:
        for _ in range(100):
            yield b" " * 100_000

    headers = {"X-HubSpot-Signature-v3": "x", "X-HubSpot-Request-Timestamp": str(now_ms())}
    return httpx.post(url, content=chunks(), headers=headers, timeout=30)


@pytest.mark.parametrize("case", list(REFUSED_HUBSPOT))
def test_hubspot_security_cases_are_refused_counted_and_queue_nothing(running: Running, case: str) -> None:
    status, reason = REFUSED_HUBSPOT[case]
    before_rows, before_count = (
        running.queued(),
        running.metric("lawful_crm_webhook_rejected_total", crm="hubspot", reason=reason),
    )
    response = send_refused_hubspot(case, f"{running.base}/webhooks/hubspot")
    assert (response.status_code, response.json()) == (status, {"error": reason})
    assert running.queued() == before_rows
    assert (
        running.metric("lawful_crm_webhook_rejected_total", crm="hubspot", reason=reason) == before_count + 1
    )


def test_salesforce_outbound_messages_are_acknowledged_exactly_and_deduplicated(running: Running) -> None:
    url = f"{running.base}/webhooks/salesforce/{PATH_SECRET}"
    before = running.queued()
    for _ in range(2):  # Salesforce redelivers until it reads the Ack
        response = httpx.post(url, content=outbound_body("04l000000000011AAA", "04l000000000012AAA"),
                              headers={"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '""'})  # fmt: skip
        assert response.status_code == 200
        assert response.content == ACK
        assert response.headers["content-type"].startswith("text/xml")
    assert running.queued() == before + 2


BOMB = (
    b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
    b'<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]><x>&d;</x>'
)
REFUSED_OUTBOUND = {
    "wrong path secret": (401, "bad_path_secret", "/webhooks/salesforce/guessed-secret-0000000000", outbound_body("04l000000000021AAA")),
    "wrong org id": (401, "wrong_org", None, outbound_body("04l000000000022AAA", org="00D000000000002AAA")),
    "XML entity expansion": (400, "xml_forbidden", None, BOMB),
    "external entity": (400, "xml_forbidden", None,
                        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>'),
    "malformed XML": (400, "xml_malformed", None, b"<soapenv:Envelope><unclosed>"),
    "10 MB body": (413, "body_too_large", None, b"<x>" + b" " * 10_000_000 + b"</x>"),
}  # fmt: skip


@pytest.mark.parametrize("case", list(REFUSED_OUTBOUND))
def test_outbound_message_security_cases_are_refused_and_queue_nothing(running: Running, case: str) -> None:
    status, reason, path, body = REFUSED_OUTBOUND[case]
    before = running.queued()
    response = httpx.post(
        f"{running.base}{path or f'/webhooks/salesforce/{PATH_SECRET}'}", content=body, timeout=30
    )
    assert (response.status_code, response.json()) == (status, {"error": reason})
    assert running.queued() == before
    assert running.metric("lawful_crm_webhook_rejected_total", crm="salesforce", reason=reason) >= 1


def test_signed_salesforce_callouts_are_verified_checked_and_deduplicated(running: Running) -> None:
    url = f"{running.base}/webhooks/salesforce/signed"
    before = running.queued()
    assert post_signed(url, signed_events("s1", "s2")).status_code == 200
    assert post_signed(url, signed_events("s1", "s2")).status_code == 200
    assert running.queued() == before + 2
    refused = {
        "bad_signature": post_signed(url, signed_events("s3"), secret="not-the-signing-secret-000"),
        "stale_timestamp": post_signed(url, signed_events("s4"), stamp=now_ms() - 400_000),
        "wrong_org": post_signed(url, signed_events("s5", org="00D000000000002AAA")),
        "invalid_json": post_signed(url, b"{"),
    }
    assert {reason: r.status_code for reason, r in refused.items()} == {
        "bad_signature": 401, "stale_timestamp": 401, "wrong_org": 401, "invalid_json": 400,
    }  # fmt: skip
    assert running.queued() == before + 2


def test_health_and_metrics_report_the_queue_and_every_refusal(running: Running) -> None:
    """The test sends what it reads back: a redelivered HubSpot event, a forged signature, an XML bomb and
    an Outbound Message left pending (it passes alone as well as after the other tests of the file)."""
    hubspot, salesforce = (
        f"{running.base}/webhooks/hubspot",
        f"{running.base}/webhooks/salesforce/{PATH_SECRET}",
    )
    for _ in range(2):
        assert post_hubspot(hubspot, hubspot_batch(901)).status_code == 200
    assert post_hubspot(hubspot, hubspot_batch(902), secret="not-the-client-secret").status_code == 401
    assert httpx.post(salesforce, content=BOMB, timeout=30).status_code == 400
    pending = outbound_body("04l000000000901AAA")
    assert httpx.post(salesforce, content=pending, headers={"Content-Type": "text/xml"}).status_code == 200
    assert httpx.get(f"{running.base}/healthz").json()["status"] == "ok"
    text = httpx.get(f"{running.base}/metrics").text
    assert 'lawful_crm_webhook_events_duplicate_total{crm="hubspot"}' in text
    assert 'lawful_crm_webhook_rejected_total{crm="hubspot",reason="bad_signature"}' in text
    assert 'lawful_crm_webhook_rejected_total{crm="salesforce",reason="xml_forbidden"}' in text
    assert 'lawful_crm_queue_depth{crm="salesforce",status="pending"}' in text
    assert PATH_SECRET not in text and HUBSPOT_SECRET not in text


def test_behind_a_proxy_the_signature_over_the_public_url_is_accepted(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'proxy.db'}")
    server, thread, _ = serve_in_thread(receiver_config(public_url=PUBLIC_URL, accept_v2=True), store)
    port = server.servers[0].sockets[0].getsockname()[1]
    internal = f"http://127.0.0.1:{port}/webhooks/hubspot"
    try:
        public = f"{PUBLIC_URL}/webhooks/hubspot"
        assert post_hubspot(internal, hubspot_batch(1), signed_uri=public).status_code == 200
        assert post_hubspot(internal, hubspot_batch(2)).status_code == 401, "signed for the internal URL"
        body = hubspot_batch(3)
        v2 = hubspot_v2_signature(HUBSPOT_SECRET, method="POST", uri=public, body=body)
        headers = {"X-HubSpot-Signature": v2, "X-HubSpot-Signature-Version": "v2"}
        assert httpx.post(internal, content=body, headers=headers).status_code == 200
    finally:
        server.should_exit = True
        thread.join(10)
        store.close()


def test_a_store_that_fails_is_answered_503_so_the_crm_delivers_again(tmp_path: Path) -> None:
    """The store raises its own StoreUnavailable: the delivery gets 503 and /healthz says why; no crash."""
    store = open_store(f"sqlite:///{tmp_path / 'broken.db'}")
    server, thread, metrics = serve_in_thread(receiver_config(), store)
    base = f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
    try:
        with store.engine.begin() as db:
            db.exec_driver_sql("DROP TABLE events")  # every read and write of the queue now fails
        response = post_hubspot(f"{base}/webhooks/hubspot", hubspot_batch(1))
        assert (response.status_code, response.json()) == (503, {"error": "store_unavailable"})
        health = httpx.get(f"{base}/healthz")
        assert (health.status_code, health.json()) == (503, {"status": "store_unavailable"})
        assert httpx.get(f"{base}/metrics").status_code == 200, (
            "metrics still answer, without the queue depth"
        )
        assert metrics.value("lawful_crm_errors_total", crm="hubspot", code="store_unavailable") == 1
    finally:
        server.should_exit = True
        thread.join(10)
        store.close()
