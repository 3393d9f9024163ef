"""A ready ``lawful-crm.toml`` for the running sandboxes (``lawful-crm sandbox --toml``): both CRMs, the store and
the webhook settings that make ``lawful-crm serve`` accept what the sandboxes send.

Every value is one of the sandbox's own test values: nothing here is a secret of a real org.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

__all__ = ["SANDBOX_PATH_SECRET", "sandbox_toml", "webhook_urls"]

SANDBOX_PATH_SECRET = "sandbox-outbound-path-secret"
"""The secret last segment of the Outbound Message URL the Salesforce sandbox calls."""


def webhook_urls(serve_url: str) -> tuple[str, str]:
    """Where the HubSpot and the Salesforce sandbox deliver, for ``serve`` listening at ``serve_url``."""
    base = serve_url.rstrip("/")
    return f"{base}/webhooks/hubspot", f"{base}/webhooks/salesforce/{SANDBOX_PATH_SECRET}"


def sandbox_toml(connection: Mapping[str, Any], *, serve_url: str | None, store_url: str) -> str:
    """The configuration text for ``connection`` (``Sandboxes.connection()``), with comments."""
    sf, hs = connection["salesforce"], connection["hubspot"]
    lag = float(hs.get("search_lag_s") or 0)
    search = (
        f"# this sandbox's search sees each write up to {lag:g} s late (--search-lag): keep overlap_s above it\n"
        f"overlap_s = {max(300, math.ceil(lag))}\n"
        if lag
        else ""
    )
    webhooks = (
        f"# the sandboxes deliver to {serve_url}: start lawful-crm serve --port {_port(serve_url)}\n"
        if serve_url
        else "# start the sandbox with --serve-url http://127.0.0.1:8080 to have it deliver webhooks to serve\n"
    )
    return f"""# lawful-crm configuration for the running sandboxes (lawful-crm sandbox --toml): test values only.
[salesforce]
auth = "session"
instance_url = "{sf["instance_url"]}"
session_id = "{sf["token"]}"
org_id = "{sf["org_id"]}"                 # Outbound Messages from any other org are refused
api_version = "{sf["api_version"]}"
bulk_poll_s = 1

[hubspot]
base_url = "{hs["base_url"]}"
access_token = "{hs["token"]}"
client_secret = "{hs["webhook_secret"]}"   # the key of the v3 webhook signatures
app_id = {hs["app_id"]}                        # events caused by lawful-crm's own writes are ignored
portal_id = {hs["portal_id"]}
per_ten_seconds = 190
{search}
[store]
url = "{store_url}"

[webhooks]
{webhooks}salesforce_path_secret = "{SANDBOX_PATH_SECRET}"
"""


def _port(url: str | None) -> str:
    tail = (url or "").rstrip("/").rsplit(":", 1)[-1]
    return tail if tail.isdigit() else "8080"
