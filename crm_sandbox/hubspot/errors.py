"""HubSpot error bodies and JSON responses, in the documented ``Error``/``StandardError`` shapes."""

from __future__ import annotations

import json
import uuid
from typing import Any

from starlette.responses import Response

JSON_TYPE = "application/json;charset=utf-8"


def correlation_id() -> str:
    """A fresh correlation id (HubSpot sends one with every response)."""
    return str(uuid.uuid4())


def error_body(category: str, message: str, **extra: Any) -> dict[str, Any]:
    """``{"status":"error","message":...,"correlationId":...,"category":...}`` plus any extra fields."""
    return {
        "status": "error",
        "message": message,
        "correlationId": correlation_id(),
        "category": category,
        **extra,
    }


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A compact JSON response with HubSpot's content type."""
    payload = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    return Response(payload, status_code=status, media_type=JSON_TYPE, headers=headers)


def error_response(status: int, category: str, message: str, **extra: Any) -> Response:
    """An error response with the documented body."""
    return json_response(error_body(category, message, **extra), status)


class ApiError(Exception):
    """Raised inside handlers to answer with a HubSpot error body."""

    def __init__(self, status: int, category: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.category = category
        self.message = message
        self.extra = extra

    def response(self) -> Response:
        """The error as an HTTP response."""
        return error_response(self.status, self.category, self.message, **self.extra)
