"""The one way the adapter talks to Salesforce: quota check, login (again, once, on 401), translation, retries.

`invoke` runs one operation against a simple-salesforce client: it refuses to start when the daily budget is
spent, logs in lazily, and when the session has expired under a token flow it logs in again once and repeats
the operation; a second 401 is an AuthenticationError. Every vendor or transport exception leaves as a
connector error (see `translate`). `call` is `invoke` under the one retry policy.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

import requests
from simple_salesforce.api import Salesforce
from simple_salesforce.exceptions import SalesforceError, SalesforceExpiredSession, SalesforceOperationError

from connector.crm.retry import RetryPolicy, call_with_retries
from connector.crm.salesforce.auth import Authenticator, Token
from connector.crm.salesforce.quota import QuotaMeter
from connector.crm.salesforce.translate import translate

__all__ = ["Connection"]

T = TypeVar("T")
log = logging.getLogger("lawful_crm.salesforce")


class Connection:
    """A logged-in (or lazily logging-in) simple-salesforce client on one metered session."""

    def __init__(
        self,
        *,
        session: requests.Session,
        authenticator: Authenticator,
        meter: QuotaMeter,
        retry: RetryPolicy,
        api_version: str,
        on_login: Callable[[Token], None] = lambda token: None,
    ) -> None:
        self.session, self.authenticator, self.meter, self.retry = session, authenticator, meter, retry
        self.api_version, self.on_login = api_version, on_login
        self._client: Salesforce | None = None
        self.logins = 0

    def _connect(self) -> Salesforce:
        token = self.authenticator.login(self.session)
        self.logins += 1
        self.on_login(token)
        self._client = Salesforce(
            session_id=token.access_token, instance=token.instance, session=self.session,
            version=self.api_version, object_pairs_hook=dict,
        )  # fmt: skip
        return self._client

    def invoke(self, action: str, operation: Callable[[Salesforce], T]) -> T:
        """Run `operation` once (plus one login and repeat after an expired session); errors translated."""
        self.meter.check()
        try:
            client = self._client or self._connect()
            try:
                return operation(client)
            except SalesforceExpiredSession:
                if not self.authenticator.renewable:
                    raise
                log.info("Salesforce session expired during %s; logging in again", action)
                return operation(self._connect())
        except (SalesforceError, SalesforceOperationError, requests.RequestException) as exc:
            raise translate(exc, action=action, retry_after=self.meter.retry_after) from None

    def call(self, action: str, operation: Callable[[Salesforce], T]) -> T:
        """`invoke` under the retry policy: 429, 5xx, timeouts and dropped connections are tried again."""
        return call_with_retries(self.retry, lambda: self.invoke(action, operation))

    def token_user_id(self) -> str | None:
        """The id of the user the token belongs to (Chatter ``users/me``), or None when the answer has none."""
        me = self.call("read the integration user", _users_me)
        user_id = me.get("id") if isinstance(me, dict) else None
        return user_id if isinstance(user_id, str) else None


def _users_me(client: Salesforce) -> object:
    return client.restful("chatter/users/me", method="GET")
