"""Serve an ASGI app on 127.0.0.1 from a daemon thread: how both emulators run, in tests, the demo and the CLI.

    with serving(app, name="HubSpot sandbox") as server:
        requests.get(f"{server.base_url}/...")

uvicorn binds the port itself (port 0 picks a free one), which keeps TCP_NODELAY on: a socket bound by hand
without IPPROTO_TCP costs ~40 ms per keep-alive response (Nagle). uvicorn leaves the process's logging as it
found it (no logging config of its own) and logs warnings and errors only, never an access line.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Self

import uvicorn
from starlette.types import ASGIApp

__all__ = ["HOST", "ThreadedServer", "serving"]

HOST = "127.0.0.1"
POLL_S = 0.005
"""How often ``start`` looks whether the port is bound."""


class ThreadedServer:
    """One ASGI app served over HTTP from a daemon thread: ``start()`` returns once the port is bound, ``stop()``
    waits for the thread. ``name`` ("HubSpot sandbox") names the thread and the start-up error."""

    def __init__(self, app: ASGIApp, *, name: str, host: str = HOST, port: int = 0) -> None:
        self.app, self.name, self.host = app, name, host
        self._port = port
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        """The bound port (the one asked for until ``start`` returns)."""
        return self._port

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT``, no trailing slash."""
        return f"http://{self.host}:{self._port}"

    def start(self, timeout: float = 10.0) -> Self:
        """Serve in a daemon thread; returns once the port is bound, raises RuntimeError when it cannot be."""
        config = uvicorn.Config(
            self.app,
            host=self.host,
            port=self._port,
            log_config=None,
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_keep_alive=30,
        )
        server = self._server = uvicorn.Server(config)
        thread = self._thread = threading.Thread(
            target=_run, args=(server,), name=self.name.lower().replace(" ", "-"), daemon=True
        )
        thread.start()
        deadline = time.monotonic() + timeout
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the {self.name} did not start on {self.host}:{self._port}")
            time.sleep(POLL_S)
        self._port = int(server.servers[0].sockets[0].getsockname()[1])
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stop serving and wait (up to ``timeout`` seconds) for the thread; stopping twice is harmless."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)
        self._server = self._thread = None


def _run(server: uvicorn.Server) -> None:
    with suppress(SystemExit):  # uvicorn exits when it cannot bind (and logs why): ``start`` reports it
        server.run()


@contextmanager
def serving(app: ASGIApp, *, name: str, host: str = HOST, port: int = 0) -> Iterator[ThreadedServer]:
    """``app`` served for the ``with`` block, stopped on the way out."""
    server = ThreadedServer(app, name=name, host=host, port=port).start()
    try:
        yield server
    finally:
        server.stop()
