"""The HTTP server of ``lawful-crm serve``: uvicorn with deadlines and a cap on open connections.

uvicorn closes a connection only when it idles after a response (``timeout_keep_alive``); a client that sends
a byte now and then keeps any number of connections open forever (slowloris), each a socket and a buffer.
``GuardedH11Protocol`` adds what uvicorn lacks: a request must arrive whole — head and body — within
``request_timeout_s`` of the connection opening or of the previous response, or the connection is closed; and a
connection beyond ``max_connections`` is answered 503 and closed at once. A request that has arrived whole is
never cut off while the application works on it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from connector.settings import WebhooksConfig

__all__ = ["GuardedH11Protocol", "ServerLimits", "server_config"]

_BUSY = (
    b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nRetry-After: 1\r\nConnection: close\r\n\r\n"
)


@dataclass(frozen=True, slots=True)
class ServerLimits:
    request_timeout_s: float = 10.0
    """Time for a whole request (head and body) to arrive; slow senders are disconnected after it."""
    keep_alive_s: int = 30
    """How long a connection may idle after a response before it is closed."""
    max_connections: int = 200
    """Open connections beyond this are answered 503 and closed."""
    graceful_shutdown_s: float = 10.0

    @classmethod
    def from_settings(cls, webhooks: WebhooksConfig) -> ServerLimits:
        return cls(
            request_timeout_s=webhooks.request_timeout_s,
            keep_alive_s=webhooks.keep_alive_s,
            max_connections=webhooks.max_connections,
        )


class GuardedH11Protocol(H11Protocol):
    """uvicorn's HTTP/1.1 protocol with a deadline for each request's arrival and a connection cap."""

    limits = ServerLimits()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._deadline: asyncio.TimerHandle | None = None
        if len(self.connections) > self.limits.max_connections:
            transport.write(_BUSY)
            transport.close()
            return
        self._arm_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_deadline()
        super().connection_lost(exc)

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm_deadline()  # the next request on this connection gets its own deadline

    def _arm_deadline(self) -> None:
        self._cancel_deadline()
        self._deadline = self.loop.call_later(self.limits.request_timeout_s, self._request_timed_out)

    def _cancel_deadline(self) -> None:
        deadline = getattr(self, "_deadline", None)
        if deadline is not None:
            deadline.cancel()
            self._deadline = None

    def _request_timed_out(self) -> None:
        """Close the connection unless a request has arrived whole and is being answered."""
        self._deadline = None
        if self.transport.is_closing():
            return
        answering = self.cycle is not None and not self.cycle.response_complete
        if answering and self.conn.their_state in (h11.DONE, h11.MUST_CLOSE):
            return
        self.transport.close()


def server_config(app: Any, *, host: str, port: int, limits: ServerLimits) -> uvicorn.Config:
    """uvicorn's settings for ``serve``: the guarded protocol, no access log or server header (no data in logs)."""
    protocol = type("GuardedH11Protocol", (GuardedH11Protocol,), {"limits": limits})
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        http=protocol,
        log_config=None,
        access_log=False,
        lifespan="off",
        timeout_keep_alive=limits.keep_alive_s,
        timeout_graceful_shutdown=round(limits.graceful_shutdown_s),
        server_header=False,
    )
