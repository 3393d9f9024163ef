"""Loopback emulator of the HubSpot CRM API that the real hubspot-api-client 12.0.0 talks to over HTTP.

Start it with ``running_hubspot(contacts=..., seed=...)`` (in-process, free port) or
``HubSpotSandbox(state)``; verify writes with ``sandbox.state.record(id)``; sign and check webhooks with
``sign_v3``/``verify_v3``. Besides the private-app token it issues expiring OAuth access tokens through
``POST /oauth/v1/token`` (``state.oauth``; ``state.expire_tokens()`` ends them as 30 minutes would).
"""

from crm_sandbox.hubspot.server import HubSpotSandbox, running_hubspot
from crm_sandbox.hubspot.signature import sign_v3, verify_v3
from crm_sandbox.hubspot.state import HubSpotState

__all__ = ["HubSpotSandbox", "HubSpotState", "running_hubspot", "sign_v3", "verify_v3"]
