"""Both emulators in one process, as ``lawful-crm sandbox`` and the demo start them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any

from crm_sandbox.config import webhook_urls
from crm_sandbox.hubspot import HubSpotSandbox, running_hubspot
from crm_sandbox.salesforce.server import SalesforceSandbox, running_salesforce

__all__ = ["Sandboxes", "running_sandboxes"]

CLIENT_ID = "sandbox-client-id"
CLIENT_SECRET = "sandbox-client-secret"
REFRESH_TOKEN = "sandbox-refresh-token"
API_VERSION = "59.0"


@dataclass(frozen=True, slots=True)
class Sandboxes:
    salesforce: SalesforceSandbox
    hubspot: HubSpotSandbox

    def connection(self) -> dict[str, Any]:
        """Everything a client needs to connect, with no secret beyond the sandbox's own test values."""
        return {
            "salesforce": {
                "instance_url": self.salesforce.base_url,
                "token_url": f"{self.salesforce.base_url}/services/oauth2/token",
                "token": self.salesforce.token,
                "org_id": self.salesforce.org_id,
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
                "refresh_token": REFRESH_TOKEN,
                "api_version": API_VERSION,
            },
            "hubspot": self.hubspot.connection(),
        }


@contextmanager
def running_sandboxes(
    *,
    contacts: int,
    seed: int = 1,
    token: str = "sandbox",
    salesforce_port: int = 0,
    hubspot_port: int = 0,
    webhook_url: str | None = None,
    serve_url: str | None = None,
) -> Iterator[Sandboxes]:
    """Start both seeded emulators on 127.0.0.1 for the ``with`` block; stop both on the way out.

    ``serve_url``: deliver webhooks to the routes of ``lawful-crm serve`` there (wins over ``webhook_url``)."""
    hubspot_url, salesforce_url = webhook_urls(serve_url) if serve_url else (webhook_url, webhook_url)
    with ExitStack() as stack:
        salesforce = stack.enter_context(
            running_salesforce(
                contacts=contacts,
                seed=seed,
                token=token,
                port=salesforce_port,
                webhook_url=salesforce_url,
                client_id=CLIENT_ID,
                client_secret=CLIENT_SECRET,
                refresh_token=REFRESH_TOKEN,
                api_version=API_VERSION,
            )
        )
        hubspot = stack.enter_context(
            running_hubspot(
                contacts=contacts, seed=seed, webhook_url=hubspot_url, token=token, port=hubspot_port
            )
        )
        yield Sandboxes(salesforce=salesforce, hubspot=hubspot)
