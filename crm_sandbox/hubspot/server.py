"""Run the HubSpot emulator in-process on a free 127.0.0.1 port (``crm_sandbox.serving``), clean shutdown.

    with running_hubspot(contacts=5000, seed=1) as hs:
        client = HubSpot(access_token=hs.token, host=hs.base_url)

``HubSpotSandbox`` is also what the CLI uses for a fixed port.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from crm_sandbox.hubspot.app import create_app
from crm_sandbox.hubspot.state import HubSpotState
from crm_sandbox.serving import HOST, ThreadedServer


class HubSpotSandbox:
    """One emulated HubSpot account served over HTTP: ``start()``, then ``stop()``."""

    def __init__(self, state: HubSpotState, *, host: str = HOST, port: int = 0) -> None:
        self.state = state
        self.host = host
        self._server = ThreadedServer(create_app(state), name="HubSpot sandbox", host=host, port=port)

    @property
    def port(self) -> int:
        """The bound port (known after ``start``)."""
        return self._server.port

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT`` with no trailing slash: pass it as ``HubSpot(host=...)``."""
        return self._server.base_url

    @property
    def token(self) -> str:
        """The bearer token every API call must carry."""
        return self.state.token

    @property
    def portal_id(self) -> int:
        """The emulated account (portal) id."""
        return self.state.portal_id

    @property
    def app_id(self) -> int:
        """The id of the app whose token we use; webhooks carry it as ``appId`` and ``sourceId``."""
        return self.state.app_id

    @property
    def webhook_secret(self) -> str:
        """The client secret webhooks are signed with."""
        return self.state.webhook_secret

    def start(self, timeout: float = 10.0) -> HubSpotSandbox:
        """Serve in a daemon thread; returns once the port is bound."""
        self._server.start(timeout)
        if self.state.webhooks is not None:
            self.state.webhooks.start()
        if self.state.store.seeded:
            self.state.store.start_seed_scan()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stop serving and delivering webhooks; waits for the threads."""
        if self.state.webhooks is not None:
            self.state.webhooks.stop()
        self._server.stop(timeout)

    def connection(self) -> dict[str, Any]:
        """The settings a client needs, as the CLI prints them."""
        return {
            "base_url": self.base_url,
            "token": self.token,
            "portal_id": self.portal_id,
            "app_id": self.app_id,
            "webhook_secret": self.webhook_secret,
            "client_id": self.state.oauth.client_id,
            "client_secret": self.state.oauth.client_secret,
            "refresh_token": self.state.oauth.refresh_token,
            "token_url": f"{self.base_url}/oauth/v1/token",
        }


@contextmanager
def running_hubspot(
    contacts: int = 5000,
    seed: int = 1,
    webhook_url: str | None = None,
    *,
    token: str = "sandbox",
    port: int = 0,
    **options: Any,
) -> Iterator[HubSpotSandbox]:
    """Serve a seeded emulator for the ``with`` block; ``options`` go to ``HubSpotState`` (limits, faults)."""
    state = HubSpotState(contacts=contacts, seed=seed, token=token, webhook_url=webhook_url, **options)
    sandbox = HubSpotSandbox(state, port=port).start()
    try:
        yield sandbox
    finally:
        sandbox.stop()
