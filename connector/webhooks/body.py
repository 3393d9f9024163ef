"""Read a request body without ever holding more than the configured limit."""

from __future__ import annotations

from starlette.requests import Request

__all__ = ["BadContentLength", "BodyTooLarge", "read_limited"]


class BodyTooLarge(Exception):
    """The body is (or declares itself) larger than the limit (answer 413)."""


class BadContentLength(Exception):
    """The Content-Length header is not a number (answer 400)."""


async def read_limited(request: Request, limit: int) -> bytes:
    """The body, refused as soon as the declared length or the bytes received pass ``limit``."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isascii() or not declared.isdigit():
            raise BadContentLength
        if int(declared) > limit:
            raise BodyTooLarge
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
    return b"".join(chunks)
