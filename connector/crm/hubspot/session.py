"""The one way this adapter calls HubSpot: token, limiter, timeout, translation, retries and counting.

The SDK is pointed at the configured host once and the API objects are kept (each attribute access of the
SDK builds a new client and connection pool). urllib3's own retries are off, so the tenacity policy in
``connector.crm.retry`` is the only one that retries. Every call uses the SDK's ``*_with_http_info`` form to
read the rate-limit headers of the answer. The ``hubspot`` and ``urllib3`` loggers are held at WARNING: the
SDK logs response bodies (personal data) at DEBUG.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from hubspot import HubSpot
from urllib3.util.retry import Retry

from connector.crm.hubspot.auth import OAuthTokens, StaticToken, TokenGrant, TokenSource
from connector.crm.hubspot.limiter import SYSTEM_CLOCK, CallLimiter, Clock, RollingWindowLimiter
from connector.crm.hubspot.translate import (
    DAILY,
    SECONDLY,
    RateHeaders,
    RequestRejected,
    answer_of,
    is_transport_failure,
    translate,
)
from connector.crm.retry import RetryPolicy, call_with_retries
from connector.errors import (
    AuthenticationError,
    ConfigurationError,
    CrmContractError,
    ServiceUnavailableError,
)
from connector.settings import HubSpotConfig

__all__ = ["Apis", "CallCounter", "HubSpotSession"]

log = logging.getLogger("lawful_crm.hubspot")
NO_URLLIB3_RETRIES = Retry(total=0, connect=0, read=0, redirect=0, status=0, raise_on_status=False,
                           respect_retry_after_header=False)  # fmt: skip


def _quiet_vendor_loggers() -> None:
    for name in ("hubspot", "urllib3"):
        logger = logging.getLogger(name)
        if logger.getEffectiveLevel() < logging.WARNING:
            logger.setLevel(logging.WARNING)


@dataclass(frozen=True, slots=True)
class Apis:
    """The SDK API objects this adapter uses, each built once."""

    contacts: Any
    contacts_search: Any
    contacts_batch: Any
    companies: Any
    companies_batch: Any
    companies_search: Any
    properties: Any
    groups: Any
    tokens: Any
    subscriptions: Any
    """Communication preferences (v3 definitions; its client also sends the v4 status reads)."""
    lists: Any

    @classmethod
    def of(cls, client: HubSpot) -> Apis:
        crm = client.crm
        return cls(
            contacts=crm.contacts.basic_api,
            contacts_search=crm.contacts.search_api,
            contacts_batch=crm.contacts.batch_api,
            companies=crm.companies.basic_api,
            companies_batch=crm.companies.batch_api,
            companies_search=crm.companies.search_api,
            properties=crm.properties.core_api,
            groups=crm.properties.groups_api,
            tokens=client.oauth.tokens_api,
            subscriptions=client.communication_preferences.definition_api,
            lists=client.crm.lists.lists_api,
        )

    def with_token(self, token: str) -> None:
        """Use ``token`` on every API object from the next call on."""
        apis = (self.contacts, self.contacts_search, self.contacts_batch, self.companies, self.companies_batch,
                self.companies_search, self.properties, self.groups, self.subscriptions, self.lists)  # fmt: skip
        for api in apis:
            api.api_client.configuration.access_token = token


class CallCounter:
    """Requests sent to HubSpot, token requests included (counted safely from several threads)."""

    def __init__(self) -> None:
        self.calls = 0
        self.throttled = 0
        self._lock = threading.Lock()

    def count(self) -> None:
        with self._lock:
            self.calls += 1

    def count_throttled(self) -> None:
        """One call answered 429 (already counted by ``count``)."""
        with self._lock:
            self.throttled += 1


class _Expired(Exception):
    """A 401 on a call: the token may be refreshed once."""


class HubSpotSession:
    """Sends SDK calls for the adapter and keeps the account's usage figures."""

    def __init__(
        self,
        apis: Apis,
        *,
        tokens: TokenSource,
        limiter: CallLimiter,
        search_limiter: RollingWindowLimiter,
        retry: RetryPolicy,
        timeout_s: float = 30.0,
        counter: CallCounter | None = None,
    ) -> None:
        self.apis = apis
        self.tokens = tokens
        self.limiter = limiter
        self.search_limiter = search_limiter
        self.retry = retry
        self.timeout = (min(timeout_s, 10.0), timeout_s)
        self.counter = counter if counter is not None else CallCounter()
        self.daily_remaining: int | None = None
        self.daily_limit: int | None = None
        self._token_in_use: str | None = None
        _quiet_vendor_loggers()

    @classmethod
    def connect(
        cls,
        config: HubSpotConfig,
        *,
        retry: RetryPolicy,
        clock: Clock = SYSTEM_CLOCK,
        limiter: CallLimiter | None = None,
    ) -> HubSpotSession:
        """Build the SDK client, token source and limiters from the ``[hubspot]`` configuration; ``limiter``
        replaces this process's own rolling-window limit (workers share one kept in the store)."""
        oauth = config.refresh_token is not None
        if oauth and (config.client_id is None or config.client_secret is None):
            raise ConfigurationError("HubSpot OAuth needs client_id, client_secret and refresh_token")
        if not oauth and config.access_token is None:
            raise ConfigurationError("HubSpot needs an access_token (private app) or OAuth credentials")
        initial = config.access_token.get_secret_value() if config.access_token is not None else None
        host = config.base_url.rstrip("/")
        apis = Apis.of(HubSpot(access_token=initial or "", host=host, retry=NO_URLLIB3_RETRIES))
        timeout = (min(config.timeout_s, 10.0), config.timeout_s)
        counter = CallCounter()
        tokens: TokenSource
        if oauth:
            assert config.refresh_token is not None and config.client_id is not None
            assert config.client_secret is not None
            fetch = _token_fetcher(
                apis.tokens,
                client_id=config.client_id,
                client_secret=config.client_secret.get_secret_value(),
                retry=retry,
                timeout=timeout,
                count=counter.count,
            )
            tokens = OAuthTokens(
                fetch,
                refresh_token=config.refresh_token.get_secret_value(),
                access_token=initial,
                clock=clock,
            )
        else:
            assert initial is not None
            tokens = StaticToken(initial)
        return cls(
            apis,
            tokens=tokens,
            limiter=limiter or RollingWindowLimiter(config.per_ten_seconds, 10.0, clock=clock),
            search_limiter=RollingWindowLimiter(
                config.search_per_second, 1.0, clock=clock, count_at_start=True
            ),
            retry=retry,
            timeout_s=config.timeout_s,
            counter=counter,
        )

    @property
    def calls(self) -> int:
        """Requests sent so far (attempts, refusals and token requests included)."""
        return self.counter.calls

    def call(
        self,
        operation: str,
        method: Callable[..., Any],
        /,
        *,
        search: bool = False,
        raw: bool = False,
        **kwargs: Any,
    ) -> Any:
        """``method(**kwargs)`` with every retry the policy allows; the decoded answer (see ``send``)."""
        return call_with_retries(
            self.retry, lambda: self.send(operation, method, search=search, raw=raw, **kwargs)
        )

    def send(
        self,
        operation: str,
        method: Callable[..., Any],
        /,
        *,
        search: bool = False,
        raw: bool = False,
        **kwargs: Any,
    ) -> Any:
        """One attempt (one more after a 401 when the token can be refreshed); raises connector errors.

        The answer is the SDK's model, or with ``raw`` the response's JSON as plain dicts and lists: the SDK
        builds a model per record and parses each of its dates with dateutil, which cost more CPU than all of
        the policy's work on a page of search results or a batch update's answer.
        """
        try:
            return self._send_once(operation, method, search=search, raw=raw, **kwargs)
        except _Expired:
            if not self.tokens.refresh():
                raise AuthenticationError(f"HubSpot refused the access token on {operation}") from None
            log.info("hubspot access token refreshed after a 401 on %s", operation)
        try:
            return self._send_once(operation, method, search=search, raw=raw, **kwargs)
        except _Expired:
            raise AuthenticationError(f"HubSpot refused a freshly refreshed token on {operation}") from None

    def _send_once(
        self, operation: str, method: Callable[..., Any], /, *, search: bool, raw: bool, **kwargs: Any
    ) -> Any:
        token = self.tokens.current()
        if token != self._token_in_use:
            self.apis.with_token(token)
            self._token_in_use = token
        limiters = (self.limiter, self.search_limiter) if search else (self.limiter,)
        for limiter in limiters:
            limiter.acquire()
        self.counter.count()
        try:
            if raw:
                data, headers = _decoded(
                    method(**kwargs, _request_timeout=self.timeout, _preload_content=False)
                )
            else:
                data, _status, headers = method(**kwargs, _request_timeout=self.timeout)
        except Exception as exc:  # the SDK raises per-sub-package classes: sorted by status below
            for limiter in limiters:
                limiter.record()
            raise self._failure(exc, operation, search=search) from None
        for limiter in limiters:
            limiter.record()
        self._observe(RateHeaders.of(headers))
        return data

    def _failure(self, exc: Exception, operation: str, *, search: bool) -> Exception:
        answer = answer_of(exc)
        if answer is None:
            if is_transport_failure(exc):
                log.warning("hubspot %s failed in transport (%s)", operation, type(exc).__name__)
                return ServiceUnavailableError(
                    f"HubSpot could not be reached for {operation} ({type(exc).__name__})"
                )
            return CrmContractError(f"HubSpot {operation} failed unexpectedly ({type(exc).__name__})")
        self._observe(answer.rate)
        log.info(
            "hubspot %s answered %s %s", operation, answer.status, answer.category or answer.policy or ""
        )
        if answer.status == 401:
            return _Expired()
        if answer.status == 429:
            self.counter.count_throttled()
        if answer.status == 429 and answer.policy != DAILY:
            self._hold(answer.policy, answer.retry_after, search=search)
        return translate(answer, operation=operation)

    def _hold(self, policy: str | None, retry_after: float | None, *, search: bool) -> None:
        """After a 429: SECONDLY holds that call's per-second limiter a second (search's own limit, or the
        legacy secondly limit), TEN_SECONDLY_ROLLING the rolling limiter until its window has rolled."""
        if policy == SECONDLY:
            limiter = self.search_limiter if search else self.limiter
            limiter.pause(retry_after if retry_after is not None else 1.0)
        else:
            self.limiter.pause(retry_after)

    def _observe(self, rate: RateHeaders) -> None:
        self.limiter.observe(limit=rate.limit, remaining=rate.remaining, window_ms=rate.window_ms)
        if rate.daily_remaining is not None:
            self.daily_remaining = rate.daily_remaining
        if rate.daily is not None:
            self.daily_limit = rate.daily


def _token_fetcher(
    tokens_api: Any,
    *,
    client_id: str,
    client_secret: str,
    retry: RetryPolicy,
    timeout: tuple[float, float],
    count: Callable[[], None],
) -> Callable[[str], TokenGrant]:
    """A function refresh token -> new access token through ``POST /oauth/v1/token``, retried like any call."""

    def once(refresh_token: str) -> TokenGrant:
        count()
        try:
            data, _status, _headers = tokens_api.create_with_http_info(
                grant_type="refresh_token",
                client_id=client_id,
                client_secret=client_secret,
                refresh_token=refresh_token,
                _request_timeout=timeout,
            )
        except Exception as exc:  # per-sub-package classes again: sorted by status
            answer = answer_of(exc)
            if answer is None:
                if is_transport_failure(exc):
                    raise ServiceUnavailableError(
                        f"the HubSpot token endpoint could not be reached ({type(exc).__name__})"
                    ) from None
                raise CrmContractError(
                    f"the HubSpot token refresh failed unexpectedly ({type(exc).__name__})"
                ) from None
            error = translate(answer, operation="oauth.token")
            if isinstance(error, RequestRejected):
                raise AuthenticationError(
                    f"HubSpot refused the OAuth refresh ({answer.category or answer.status})"
                ) from None
            raise error from None
        if data is None or not getattr(data, "access_token", None):
            raise CrmContractError("the HubSpot token endpoint answered without an access token")
        expires = getattr(data, "expires_in", None)
        return TokenGrant(
            access_token=str(data.access_token),
            expires_in=float(expires) if isinstance(expires, int | float) else None,
            refresh_token=getattr(data, "refresh_token", None) or None,
        )

    return lambda refresh_token: call_with_retries(retry, lambda: once(refresh_token))


def _decoded(response: Any) -> tuple[Any, Mapping[str, Any]]:
    """(JSON body, headers) of an undecoded urllib3 response, its connection handed back to the pool."""
    try:
        body = response.data
    finally:
        response.release_conn()
    try:
        return (json.loads(body) if body else {}), response.headers
    except ValueError:
        raise CrmContractError("HubSpot answered with a body that is not JSON") from None
