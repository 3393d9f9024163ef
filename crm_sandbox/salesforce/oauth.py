"""`POST /services/oauth2/token`: client-credentials, JWT-bearer and refresh-token grants.

A refresh needs the connected app's client id and secret, as an app that requires its secret does. Tokens
issued here work on every API call and the response carries the sandbox's own `instance_url`, so any
client written against the real login flow can be pointed at the sandbox. JWT assertions are checked for
shape, issuer, subject and expiry; their RS256 signature is checked too when the org holds the connected
app's certificate (`SalesforceState(jwt_certificate=PEM)`), as a real org does.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from typing import Any
from urllib.parse import parse_qsl

from crm_sandbox.salesforce.state import ORG_ID, SalesforceState

JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"


def token(state: SalesforceState, body: bytes, authorization: str | None) -> tuple[int, dict[str, Any]]:
    """(status, JSON body) for a token request."""
    form = dict(parse_qsl(body.decode("utf-8", "replace")))
    grant = form.get("grant_type", "")
    if grant == "client_credentials":
        client_id, client_secret = _client(form, authorization)
        if (client_id, client_secret) != (state.client_id, state.client_secret):
            return 400, _error("invalid_client", "invalid client credentials")
        return 200, _issued(state)
    if grant == JWT_GRANT:
        assertion = form.get("assertion", "")
        claims = _claims(assertion)
        if claims is None:
            return 400, _error("invalid_grant", "invalid assertion")
        if state.jwt_certificate is not None and not _signed_by(assertion, state.jwt_certificate):
            return 400, _error("invalid_grant", "invalid assertion")
        if claims.get("iss") != state.client_id:
            return 400, _error("invalid_client_id", "client identifier invalid")
        if not claims.get("sub") or float(claims.get("exp", 0)) < time.time():
            return 400, _error("invalid_grant", "expired authorization code")
        return 200, _issued(state)
    if grant == "refresh_token":
        client_id, client_secret = _client(form, authorization)
        if client_id != state.client_id:
            return 400, _error("invalid_client_id", "client identifier invalid")
        if client_secret != state.client_secret:  # the connected app requires its secret on refresh
            return 400, _error("invalid_client", "invalid client credentials")
        if form.get("refresh_token") not in state.refresh_tokens:
            return 400, _error("invalid_grant", "expired access/refresh token")
        return 200, _issued(state)
    return 400, _error("unsupported_grant_type", "grant type not supported")


def _client(form: dict[str, str], authorization: str | None) -> tuple[str, str]:
    if authorization and authorization.lower().startswith("basic "):
        try:
            decoded = base64.b64decode(authorization[6:]).decode()
        except (binascii.Error, UnicodeDecodeError):
            return "", ""
        client_id, _, client_secret = decoded.partition(":")
        return client_id, client_secret
    return form.get("client_id", ""), form.get("client_secret", "")


def _claims(assertion: str) -> dict[str, Any] | None:
    parts = assertion.split(".")
    if len(parts) != 3:
        return None
    try:
        payload = base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4))
        claims = json.loads(payload)
    except (binascii.Error, ValueError):
        return None
    return claims if isinstance(claims, dict) else None


def _signed_by(assertion: str, certificate: str) -> bool:
    """Whether an RS256 assertion was signed by the key of the PEM certificate (or public key)."""
    from cryptography import x509
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    header, payload, signature = assertion.split(".")
    try:
        if json.loads(_unpad(header)).get("alg") != "RS256":
            return False
        pem = certificate.encode()
        key = (
            x509.load_pem_x509_certificate(pem).public_key()
            if b"BEGIN CERTIFICATE" in pem
            else serialization.load_pem_public_key(pem)
        )
        if not isinstance(key, rsa.RSAPublicKey):
            return False
        key.verify(_unpad(signature), f"{header}.{payload}".encode(), padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, ValueError, binascii.Error):
        return False
    return True


def _unpad(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def _issued(state: SalesforceState) -> dict[str, Any]:
    issued_at = str(int(time.time() * 1000))
    return {
        "access_token": state.issue_token(),
        "instance_url": state.instance_url,
        "id": f"{state.instance_url}/id/{ORG_ID}/{state.store.user_id}",
        "token_type": "Bearer",
        "issued_at": issued_at,
        "signature": base64.b64encode(issued_at.encode()).decode(),
        "scope": "api",
    }


def _error(code: str, description: str) -> dict[str, Any]:
    return {"error": code, "error_description": description}
