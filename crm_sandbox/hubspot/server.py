"""Run the HubSpot emulator in-process: uvicorn in a daemon thread on a free 127.0.0.1 port, clean shutdown.

    with running_hubspot(contacts=5000, seed=1) as hs:
        client = HubSpot(access_token=hs.token, host=hs.base_url)

uvicorn binds the port itself (port 0), which keeps TCP_NODELAY on: a socket handed in without IPPROTO_TCP
costs ~40 ms per keep-alive response (Nagle). ``HubSpotSandbox`` is also what the CLI uses for a fixed port.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn

from crm_sandbox.hubspot.app import create_app
from crm_sandbox.hubspot.state import HubSpotState


class HubSpotSandbox:
    """One emulated HubSpot account served over HTTP: ``start()``, then ``stop()``."""

    def __init__(self, state: HubSpotState, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.state = state
        self.host = host
        self._port = port
        config = uvicorn.Config(
            create_app(state),
            host=host,
            port=port,
            log_config=None,
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_keep_alive=30,
        )
        self._server = uvicorn.Server(config)
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        """The bound port (known after ``start``)."""
        return self._port

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT`` with no trailing slash: pass it as ``HubSpot(host=...)``."""
        return f"http://{self.host}:{self._port}"

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
        self._thread = threading.Thread(target=self._server.run, name="hubspot-sandbox", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the HubSpot sandbox did not start")
            time.sleep(0.005)
        sockets = [s for server in self._server.servers for s in server.sockets]
        self._port = int(sockets[0].getsockname()[1])
        if self.state.webhooks is not None:
            self.state.webhooks.start()
        if self.state.store.seeded:
            self.state.store.start_company_scan()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stop serving and delivering webhooks; waits for the threads."""
        if self.state.webhooks is not None:
            self.state.webhooks.stop()
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)

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
