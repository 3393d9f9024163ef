"""Access tokens: a private app's fixed token, or OAuth access tokens refreshed before they expire.

HubSpot OAuth access tokens live ``expires_in`` seconds (30 minutes). ``OAuthTokens`` refreshes one a minute
before that (a tenth of the lifetime for short-lived tokens), and again whenever a call is answered 401 (revoked
early, clock drift), so a run of hours never stops on an expired token. The token request itself is injected (``fetch``), which keeps this logic free of
HTTP and testable with a fake clock.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from connector.crm.hubspot.limiter import SYSTEM_CLOCK, Clock

__all__ = ["OAuthTokens", "StaticToken", "TokenGrant", "TokenSource"]


@dataclass(frozen=True, slots=True)
class TokenGrant:
    """What the token endpoint answered."""

    access_token: str
    expires_in: float | None
    refresh_token: str | None = None


class TokenSource(Protocol):
    """Where the bearer token of the next call comes from."""

    def current(self) -> str:
        """A token to use now (refreshed first when it is about to expire)."""
        ...

    def refresh(self) -> bool:
        """Get a new token after a 401; False when this kind of token cannot be refreshed."""
        ...


class StaticToken:
    """A private app's access token: it does not expire and cannot be refreshed."""

    def __init__(self, token: str) -> None:
        self._token = token

    def current(self) -> str:
        return self._token

    def refresh(self) -> bool:
        return False


class OAuthTokens:
    """OAuth access tokens obtained with a refresh token; refreshed ``margin_s`` before they expire."""

    def __init__(
        self,
        fetch: Callable[[str], TokenGrant],
        *,
        refresh_token: str,
        access_token: str | None = None,
        clock: Clock = SYSTEM_CLOCK,
        margin_s: float = 60.0,
    ) -> None:
        self._fetch = fetch
        self._refresh_token = refresh_token
        self._token = access_token
        self._refresh_at: float | None = None
        self._clock = clock
        self._margin_s = margin_s
        self.refreshes = 0
        """How many tokens were obtained (for reports and tests)."""
        self._lock = threading.RLock()  # the reading-ahead thread and the writing one share the tokens

    def current(self) -> str:
        with self._lock:
            expiring = self._refresh_at is not None and self._clock.monotonic() >= self._refresh_at
            if self._token is None or expiring:
                self.refresh()
            assert self._token is not None
            return self._token

    def refresh(self) -> bool:
        with self._lock:
            return self._refresh()

    def _refresh(self) -> bool:
        grant = self._fetch(self._refresh_token)
        self._token = grant.access_token
        lifetime = grant.expires_in
        if lifetime is None:
            self._refresh_at = None
        else:
            self._refresh_at = self._clock.monotonic() + lifetime - min(self._margin_s, lifetime / 10)
        if grant.refresh_token:
            self._refresh_token = grant.refresh_token
        self.refreshes += 1
        return True
