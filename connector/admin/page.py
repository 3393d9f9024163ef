"""The read-only page ``GET /admin`` of ``lawful-crm serve``, and ``GET /`` pointing to it.

Off (404) unless ``[admin]`` sets a token or a user; then a request must prove it with
``Authorization: Bearer <token>`` or basic auth, compared in constant time, or is answered 401. The page is the run
report (``connector.admin.render``), gathered afresh on each request in a worker thread, sent with a content
security policy that lets no script run and nothing load.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import logging
from collections.abc import Callable
from dataclasses import dataclass

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from connector.admin.overview import Overview
from connector.admin.render import render_report
from connector.admin.templating import CONTENT_SECURITY_POLICY
from connector.settings import AdminConfig

__all__ = ["AdminAccess", "admin_routes"]

log = logging.getLogger("lawful_crm.admin")

REALM = "lawful-crm admin"
_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY + "; frame-ancestors 'none'",
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def _same(given: str, wanted: str) -> bool:
    """Constant-time comparison (the time taken says nothing about how much of a secret matched)."""
    return hmac.compare_digest(given.encode("utf-8"), wanted.encode("utf-8"))


@dataclass(frozen=True, slots=True)
class AdminAccess:
    """The credentials that open the page: a bearer token, a basic-auth user, or both."""

    token: str | None = None
    username: str | None = None
    password: str | None = None

    @classmethod
    def from_settings(cls, admin: AdminConfig) -> AdminAccess | None:
        """None when ``[admin]`` sets neither (the page is off)."""
        if not admin.enabled:
            return None
        return cls(
            token=admin.token.get_secret_value() if admin.token is not None else None,
            username=admin.username,
            password=admin.password.get_secret_value() if admin.password is not None else None,
        )

    def admits(self, authorization: str | None) -> bool:
        """Whether an ``Authorization`` header value proves one of the configured credentials."""
        scheme, _, value = (authorization or "").partition(" ")
        value = value.strip()
        if scheme.lower() == "bearer" and self.token is not None:
            return _same(value, self.token)
        if scheme.lower() == "basic" and self.username is not None and self.password is not None:
            try:
                decoded = base64.b64decode(value, validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                return False
            user, _, password = decoded.partition(":")
            # both compared, whatever the first answers, so the time says nothing about which was wrong
            return _same(user, self.username) & _same(password, self.password)
        return False

    def challenge(self) -> str:
        return f'Basic realm="{REALM}", charset="UTF-8"' if self.username is not None else "Bearer"


def admin_routes(overview: Callable[[], Overview], access: AdminAccess | None) -> list[Route]:
    """``GET /admin`` (the page) and ``GET /`` (where to look), to add to the receiver's routes."""

    async def page(request: Request) -> Response:
        if access is None:
            return JSONResponse({"error": "admin_page_off"}, status_code=404)
        if not access.admits(request.headers.get("authorization")):
            log.info("admin page refused: 401")
            return JSONResponse(
                {"error": "unauthorized"}, status_code=401, headers={"WWW-Authenticate": access.challenge()}
            )
        html = await run_in_threadpool(lambda: render_report(overview()))
        return HTMLResponse(html, headers=_HEADERS)

    async def index(request: Request) -> Response:
        if access is None:
            text = (
                "lawful-crm: webhook receiver. The admin page is off; set [admin] token, or username and "
                "password, in lawful-crm.toml to open it at /admin.\n"
            )
        else:
            text = "lawful-crm: webhook receiver. The admin page is at /admin.\n"
        return PlainTextResponse(text)

    return [Route("/admin", page, methods=["GET"]), Route("/", index, methods=["GET"])]
