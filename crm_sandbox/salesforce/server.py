"""Run the emulator in-process on a free 127.0.0.1 port (`crm_sandbox.serving`): `running_salesforce(...)` for
tests and the demo; leaving the context manager stops it cleanly.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import requests

from crm_sandbox.salesforce.app import create_app
from crm_sandbox.salesforce.client import loopback_session
from crm_sandbox.salesforce.faults import SalesforceFaults
from crm_sandbox.salesforce.outbound import OutboundMessenger
from crm_sandbox.salesforce.state import ORG_ID, SalesforceState
from crm_sandbox.salesforce.tooling import preinstall_connector_fields
from crm_sandbox.serving import HOST, ThreadedServer

GC_YOUNG, GC_OLDER = 50_000, (20, 20)
"""The cyclic collector's thresholds while an emulator runs: an org holds millions of long-lived objects (what
was written, its jobs' rows) that every full collection walks, and its garbage is freed by reference counting,
so collections are made rarer (a Bulk full run spends about a seventh of the emulator's time in them with
Python's defaults)."""


class SalesforceSandbox:
    """A started emulator: where it listens, the token it accepts, and its state."""

    def __init__(self, state: SalesforceState, *, host: str = HOST, port: int = 0) -> None:
        self.state, self.host = state, host
        self.org_id = ORG_ID
        self.outbound: OutboundMessenger | None = None
        self._server = ThreadedServer(create_app(state), name="Salesforce sandbox", host=host, port=port)

    @property
    def port(self) -> int:
        """The bound port (known after `start`)."""
        return self._server.port

    @property
    def base_url(self) -> str:
        """`http://127.0.0.1:PORT`, the instance URL."""
        return self._server.base_url

    @property
    def token(self) -> str:
        """The static bearer token the sandbox accepts."""
        return self.state.token

    def session(self, *, login_hosts: tuple[str, ...] = ()) -> requests.Session:
        """A `requests.Session` wired for simple-salesforce (see `client.loopback_session`)."""
        return loopback_session(self.base_url, login_hosts=login_hosts)

    def start(self, timeout: float = 10.0) -> SalesforceSandbox:
        """Serve in a daemon thread; returns once the port is bound."""
        self._server.start(timeout)
        self.state.instance_url = self.base_url
        return self

    def send_outbound_messages(self, url: str) -> OutboundMessenger:
        """Start POSTing Outbound Message notifications for Contact/Lead changes to `url`."""
        self.outbound = OutboundMessenger(self.state, url).start()
        return self.outbound

    def stop(self, timeout: float = 10.0) -> None:
        """Stop serving (and sending outbound messages) and wait for the threads."""
        if self.outbound is not None:
            self.outbound.stop()
        self._server.stop(timeout)


@contextmanager
def running_salesforce(
    *,
    contacts: int = 1000,
    leads: int | None = None,
    seed: int = 1,
    token: str = "sandbox",
    daily_limit: int = 15000,
    faults: SalesforceFaults | None = None,
    port: int = 0,
    webhook_url: str | None = None,
    connector_fields: bool = False,
    **options: Any,
) -> Iterator[SalesforceSandbox]:
    """Start a seeded Salesforce emulator on 127.0.0.1 for the duration of the `with` block.

    `leads` defaults to 30% of `contacts`; `connector_fields` pre-creates the connector's own fields (as after
    `lawful-crm install`); `webhook_url` turns on Outbound Messages; `options` go to `SalesforceState`.
    """
    state = SalesforceState(
        contacts=contacts,
        leads=leads,
        seed=seed,
        token=token,
        daily_limit=daily_limit,
        faults=faults,
        **options,
    )
    if connector_fields:
        preinstall_connector_fields(state)
    sandbox = SalesforceSandbox(state, port=port).start()
    thresholds = gc.get_threshold()
    if thresholds[0] < GC_YOUNG:
        gc.set_threshold(GC_YOUNG, *GC_OLDER)
    try:
        if webhook_url:
            sandbox.send_outbound_messages(webhook_url)
        yield sandbox
    finally:
        sandbox.stop()
        gc.set_threshold(*thresholds)
