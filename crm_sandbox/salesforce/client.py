"""A `requests.Session` that lets simple-salesforce talk to the sandbox over plain HTTP on loopback.

simple-salesforce keeps only host and port of `instance_url` and builds every URL with `https://`; the
session's adapter, mounted only on the sandbox's origin (and any login hosts you name), rewrites those URLs to
the sandbox's `http://` origin. It also sets the default timeout the library never sets. Loopback use only:
never mount it for a real Salesforce host.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests
from requests.adapters import HTTPAdapter


class LoopbackAdapter(HTTPAdapter):
    """Sends https requests for a mounted origin to the sandbox's http origin instead."""

    def __init__(self, target: str, timeout: float = 60.0) -> None:
        super().__init__()
        parts = urlsplit(target)
        self.target_netloc, self.timeout = parts.netloc, timeout

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        """Rewrite the scheme and host, then send as usual."""
        parts = urlsplit(request.url or "")
        request.url = urlunsplit(("http", self.target_netloc, parts.path, parts.query, parts.fragment))
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeout
        return super().send(request, **kwargs)


def loopback_session(
    base_url: str, *, login_hosts: tuple[str, ...] = (), timeout: float = 60.0
) -> requests.Session:
    """A session for `simple_salesforce.Salesforce(instance_url=base_url, session_id=..., session=...)`.

    `login_hosts` (e.g. "login.salesforce.com", "acme.my.salesforce.com") are routed to the sandbox too, so
    the library's OAuth logins reach the sandbox's token endpoint.
    """
    netloc = urlsplit(base_url).netloc
    adapter = LoopbackAdapter(f"http://{netloc}", timeout=timeout)
    session = requests.Session()
    session.trust_env = False
    for host in (netloc, *login_hosts):
        session.mount(f"https://{host}", adapter)
    session.mount(f"http://{netloc}", adapter)
    return session
