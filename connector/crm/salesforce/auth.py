"""Logging in unattended: JWT bearer, client credentials, refresh token, or a given session id.

JWT bearer and client credentials go through simple-salesforce's own login (`SalesforceLogin`); the refresh-token
grant, which the library lacks, is one form POST to the token endpoint. Each flow returns a Token: the access
token and the instance host the API calls go to. Only the session-id flow cannot log in again when its session
expires (`renewable` is False).

simple-salesforce builds the token URL as `https://<domain>.salesforce.com`, so the domain is taken from
`login_url`; a loopback `login_url` (the sandbox) gets a placeholder domain that the session routes to it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit

import requests
from simple_salesforce.login import SalesforceLogin

from connector.crm.salesforce.transport import is_loopback
from connector.errors import (
    AuthenticationError,
    ConfigurationError,
    CrmContractError,
    ServiceUnavailableError,
)
from connector.settings import SalesforceConfig

__all__ = ["LOOPBACK_LOGIN_DOMAIN", "Authenticator", "Token", "authenticator", "login_domain"]

LOOPBACK_LOGIN_DOMAIN = "lawful-crm-loopback.my"
"""The domain simple-salesforce is given when `login_url` is a loopback sandbox; the session routes it there."""
_REQUIRED = {
    "jwt": ("client_id", "username", "private_key_file"),
    "client_credentials": ("client_id", "client_secret"),
    "refresh_token": ("client_id", "client_secret", "refresh_token"),
    "session": ("session_id", "instance_url"),
}


@dataclass(frozen=True, slots=True)
class Token:
    """An access token and the instance it is valid on (`host` or `host:port`, no scheme)."""

    access_token: str
    instance: str


class Authenticator(Protocol):
    @property
    def renewable(self) -> bool:
        """Whether `login` can be called again after the session expired."""
        ...

    def login(self, session: requests.Session) -> Token: ...


def login_domain(login_url: str) -> str:
    """`login`, `test` or `acme.my` from `https://<domain>.salesforce.com`; the placeholder for loopback."""
    if is_loopback(login_url):
        return LOOPBACK_LOGIN_DOMAIN
    parts = urlsplit(login_url)
    host = parts.hostname or ""
    if parts.scheme != "https" or not host.endswith(".salesforce.com"):
        raise ConfigurationError(
            "salesforce.login_url must be https://<domain>.salesforce.com (login, test or a My Domain)"
        )
    return host[: -len(".salesforce.com")]


def _instance(url: str) -> str:
    return urlsplit(url if "//" in url else f"//{url}").netloc


@dataclass(frozen=True, slots=True)
class _SessionId:
    token: Token
    renewable: bool = False

    def login(self, session: requests.Session) -> Token:
        return self.token


@dataclass(frozen=True, slots=True)
class _Jwt:
    client_id: str
    username: str
    private_key_file: str
    domain: str
    renewable: bool = True

    def login(self, session: requests.Session) -> Token:
        try:
            token, instance = SalesforceLogin(
                username=self.username, consumer_key=self.client_id, privatekey_file=self.private_key_file,
                domain=self.domain, session=session,
            )  # fmt: skip
        except OSError:
            raise ConfigurationError("cannot read salesforce.private_key_file") from None
        return Token(str(token), _instance(str(instance)))


@dataclass(frozen=True, slots=True)
class _ClientCredentials:
    client_id: str
    client_secret: str
    domain: str
    renewable: bool = True

    def login(self, session: requests.Session) -> Token:
        token, instance = SalesforceLogin(
            consumer_key=self.client_id,
            consumer_secret=self.client_secret,
            domain=self.domain,
            session=session,
        )
        return Token(str(token), _instance(str(instance)))


@dataclass(frozen=True, slots=True)
class _RefreshToken:
    token_url: str
    client_id: str
    client_secret: str
    refresh_token: str
    renewable: bool = True

    def login(self, session: requests.Session) -> Token:
        form = {
            "grant_type": "refresh_token", "client_id": self.client_id, "client_secret": self.client_secret,
            "refresh_token": self.refresh_token,
        }  # fmt: skip
        response = session.post(self.token_url, data=form, headers={"Accept": "application/json"})
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.status_code >= 500:
            raise ServiceUnavailableError(f"Salesforce token endpoint: HTTP {response.status_code}")
        if not isinstance(body, dict):
            raise CrmContractError(f"Salesforce token endpoint: HTTP {response.status_code} without JSON")
        if response.status_code != 200:
            raise AuthenticationError(
                f"Salesforce refused the login ({body.get('error', response.status_code)})"
            )
        access, instance = body.get("access_token"), body.get("instance_url")
        if not isinstance(access, str) or not isinstance(instance, str):
            raise CrmContractError("Salesforce token endpoint: no access_token or instance_url")
        return Token(access, _instance(instance))


def authenticator(config: SalesforceConfig) -> Authenticator:
    """The login of the configured flow; ConfigurationError naming every missing setting."""
    missing = [f"salesforce.{key}" for key in _REQUIRED[config.auth] if getattr(config, key) in (None, "")]
    if missing:
        raise ConfigurationError(
            f"salesforce.auth = {config.auth} needs {', '.join(missing)}", problems=tuple(missing)
        )
    secret = config.client_secret.get_secret_value() if config.client_secret else ""
    if config.auth == "session":
        assert config.session_id is not None and config.instance_url is not None
        return _SessionId(Token(config.session_id.get_secret_value(), _instance(config.instance_url)))
    domain = login_domain(config.login_url)
    if config.auth == "refresh_token":
        assert config.client_id is not None and config.refresh_token is not None
        token_url = config.login_url.rstrip("/") + "/services/oauth2/token"
        return _RefreshToken(token_url, config.client_id, secret, config.refresh_token.get_secret_value())
    assert config.client_id is not None
    if config.auth == "client_credentials":
        if domain in ("login", "test"):
            raise ConfigurationError(
                "salesforce.auth = client_credentials needs the org's My Domain as login_url"
            )
        return _ClientCredentials(config.client_id, secret, domain)
    assert config.username is not None and config.private_key_file is not None
    return _Jwt(config.client_id, config.username, str(config.private_key_file), domain)
