"""The HTTP plumbing under simple-salesforce: a default timeout, call metering and the loopback route.

simple-salesforce sets no timeout and its exceptions carry no headers. So every adapter mounted on the session
is wrapped in a MeteredAdapter that sets the timeout when the caller gave none, counts the call and hands the
response headers to the QuotaMeter. A sandbox on 127.0.0.1 or localhost speaks plain HTTP, while the library
always builds https:// URLs from the host and port it keeps: `route_loopback` mounts a small adapter that sends
those requests to the sandbox's http:// origin. It refuses any other host.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit, urlunsplit

import requests
from requests.adapters import BaseAdapter, HTTPAdapter

from connector.crm.salesforce.quota import QuotaMeter

__all__ = ["LoopbackRewrite", "MeteredAdapter", "is_loopback", "meter_session", "route_loopback"]

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})

_Timeout = float | tuple[float, float] | tuple[float, None] | None
_Cert = bytes | str | tuple[bytes | str, bytes | str] | None


def is_loopback(url: str) -> bool:
    """Whether a URL (or a bare `host:port`) points at this machine."""
    parts = urlsplit(url if "//" in url else f"//{url}")
    return parts.hostname in LOOPBACK_HOSTS


class MeteredAdapter(BaseAdapter):
    """Wraps another transport adapter: default timeout, one count per request, headers to the meter."""

    def __init__(self, inner: BaseAdapter, *, timeout: float, meter: QuotaMeter) -> None:
        super().__init__()
        self.inner, self.timeout, self.meter = inner, timeout, meter

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,  # noqa: FBT001, FBT002 - the signature requests calls
        timeout: _Timeout = None,
        verify: bool | str = True,  # noqa: FBT001, FBT002
        cert: _Cert = None,
        proxies: Mapping[str, str] | None = None,
    ) -> requests.Response:
        self.meter.count_call()
        response = self.inner.send(
            request,
            stream=stream,
            timeout=self.timeout if timeout is None else timeout,
            verify=verify,
            cert=cert,
            proxies=proxies,
        )
        self.meter.observe(response.headers)
        if response.status_code == 429:
            self.meter.count_throttled()
        return response

    def close(self) -> None:
        self.inner.close()


class LoopbackRewrite(HTTPAdapter):
    """Sends every request it gets to one plain-HTTP loopback origin (scheme and host rewritten)."""

    def __init__(self, target: str) -> None:
        if not is_loopback(target):
            raise ValueError("the loopback route only leads to 127.0.0.1, localhost or ::1")
        super().__init__()
        self.target_netloc = urlsplit(target).netloc

    def send(  # type: ignore[override]
        self, request: requests.PreparedRequest, **kwargs: object
    ) -> requests.Response:
        parts = urlsplit(request.url or "")
        request.url = urlunsplit(("http", self.target_netloc, parts.path, parts.query, parts.fragment))
        return super().send(request, **kwargs)  # type: ignore[arg-type]


def meter_session(session: requests.Session, *, timeout: float, meter: QuotaMeter) -> None:
    """Wrap each adapter of the session (keeping its behaviour) in a MeteredAdapter for this meter."""
    for prefix, adapter in list(session.adapters.items()):
        if isinstance(adapter, MeteredAdapter) and adapter.meter is meter:
            continue
        session.mount(prefix, MeteredAdapter(adapter, timeout=timeout, meter=meter))


def route_loopback(
    session: requests.Session, *, origin: str, target: str, timeout: float, meter: QuotaMeter
) -> None:
    """Send requests for `origin` (e.g. `https://127.0.0.1:8080`) to the loopback `target` over plain HTTP."""
    adapter = MeteredAdapter(LoopbackRewrite(target), timeout=timeout, meter=meter)
    session.mount(origin.rstrip("/") + "/", adapter)
