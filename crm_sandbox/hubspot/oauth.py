"""OAuth for the emulated app: ``POST /oauth/v1/token`` refresh grants and access tokens that expire.

HubSpot's v1 token endpoint takes a form (``grant_type=refresh_token``, ``client_id``, ``client_secret``,
``refresh_token``) and answers ``{"token_type":"bearer","refresh_token":…,"access_token":…,"expires_in":1800}``;
a refused request is a 400 whose ``status`` field is the reason (``BAD_REFRESH_TOKEN``, ``BAD_CLIENT_ID``, …).
Issued access tokens are accepted until ``lifetime_s`` has passed, then answered with 401
``EXPIRED_AUTHENTICATION``. ``expire_all()`` ends every issued token at once, as a long run meets it after
30 minutes. The private-app token of the account never expires.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request
from starlette.responses import Response

from crm_sandbox.hubspot.errors import correlation_id, json_response

TOKEN_PATH = "/oauth/v1/token"


@dataclass
class OAuthIssuer:
    """The app's OAuth credentials and the access tokens issued from them; thread-safe."""

    client_id: str = "sandbox-client-id"
    client_secret: str = "sandbox-client-secret"
    refresh_token: str = "sandbox-refresh-token"
    lifetime_s: float = 1800.0
    clock: Callable[[], float] = time.monotonic
    issued_count: int = 0
    _expiry: dict[str, float] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def token_response(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        """(status, JSON body) for one token request."""
        if form.get("grant_type") != "refresh_token":
            return 400, _refused("BAD_GRANT_TYPE", "missing or unknown grant type")
        if form.get("client_id") != self.client_id:
            return 400, _refused("BAD_CLIENT_ID", "missing or unknown client id")
        if form.get("client_secret") != self.client_secret:
            return 400, _refused("BAD_CLIENT_SECRET", "missing or invalid client secret")
        if form.get("refresh_token") != self.refresh_token:
            return 400, _refused("BAD_REFRESH_TOKEN", "missing or invalid refresh token")
        token = f"oauth-{secrets.token_hex(16)}"
        with self._lock:
            self._expiry[token] = self.clock() + self.lifetime_s
            self.issued_count += 1
        body = {
            "token_type": "bearer",
            "refresh_token": self.refresh_token,
            "access_token": token,
            "expires_in": int(self.lifetime_s),
        }
        return 200, body

    def status(self, token: str) -> str | None:
        """``valid``, ``expired``, or None for a token this issuer never gave out."""
        with self._lock:
            expiry = self._expiry.get(token)
        if expiry is None:
            return None
        return "valid" if self.clock() < expiry else "expired"

    def expire_all(self) -> None:
        """End every issued access token now (the refresh token stays valid)."""
        now = self.clock()
        with self._lock:
            self._expiry = dict.fromkeys(self._expiry, now)

    def configure(self, *, lifetime_s: float | None = None, expire: bool = False) -> dict[str, Any]:
        """Set the lifetime of tokens issued from now on and/or expire the issued ones."""
        if lifetime_s is not None:
            if lifetime_s <= 0:
                raise ValueError("lifetime_s must be positive")
            self.lifetime_s = float(lifetime_s)
        if expire:
            self.expire_all()
        return {"lifetime_s": self.lifetime_s, "issued": self.issued_count}


def _refused(reason: str, message: str) -> dict[str, Any]:
    return {"status": reason, "message": message, "correlationId": correlation_id()}


def build_oauth_router(issuer: OAuthIssuer) -> APIRouter:
    """The token endpoint bound to one app's credentials."""
    router = APIRouter()

    @router.post(TOKEN_PATH)
    async def token(request: Request) -> Response:
        form = dict(parse_qsl((await request.body()).decode("utf-8", "replace")))
        status, body = issuer.token_response(form)
        return json_response(body, status)

    return router
