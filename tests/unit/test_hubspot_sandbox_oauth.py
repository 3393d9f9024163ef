"""The HubSpot sandbox's OAuth token endpoint logic: refresh grants, expiry, refusals. No HTTP."""

from __future__ import annotations

from crm_sandbox.hubspot.oauth import OAuthIssuer

GRANT = {
    "grant_type": "refresh_token",
    "client_id": "sandbox-client-id",
    "client_secret": "sandbox-client-secret",
    "refresh_token": "sandbox-refresh-token",
}


def issuer() -> tuple[OAuthIssuer, list[float]]:
    now = [100.0]
    return OAuthIssuer(lifetime_s=1800.0, clock=lambda: now[0]), now


def test_a_refresh_grant_issues_a_bearer_token_with_its_lifetime() -> None:
    """The answer has HubSpot's v1 shape and the token is valid until expires_in has passed."""
    oauth, now = issuer()
    status, body = oauth.token_response(GRANT)
    assert status == 200 and body["token_type"] == "bearer" and body["expires_in"] == 1800
    assert body["refresh_token"] == GRANT["refresh_token"]
    assert oauth.status(body["access_token"]) == "valid"
    now[0] += 1800
    assert oauth.status(body["access_token"]) == "expired"


def test_expire_all_ends_every_issued_token_and_new_ones_work() -> None:
    """The admin knob ends the tokens issued so far; the refresh token still gets a fresh one."""
    oauth, _ = issuer()
    _, first = oauth.token_response(GRANT)
    oauth.expire_all()
    assert oauth.status(first["access_token"]) == "expired"
    _, second = oauth.token_response(GRANT)
    assert oauth.status(second["access_token"]) == "valid" and oauth.issued_count == 2


def test_bad_grants_are_refused_with_the_reason_in_status() -> None:
    """Wrong refresh token, client id, secret or grant type: 400 with HubSpot's reason words."""
    oauth, _ = issuer()
    cases = {
        "refresh_token": "BAD_REFRESH_TOKEN",
        "client_id": "BAD_CLIENT_ID",
        "client_secret": "BAD_CLIENT_SECRET",
        "grant_type": "BAD_GRANT_TYPE",
    }
    for field, reason in cases.items():
        status, body = oauth.token_response({**GRANT, field: "wrong"})
        assert (status, body["status"]) == (400, reason)
    assert oauth.status("never-issued") is None
