"""Database failures of the store, raised as the connector's own ``StoreUnavailable``.

Callers above the store (the webhook receiver) answer "try again later" without knowing the database library;
the driver's message never travels (it may quote a statement's values), only its type name.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from sqlalchemy.exc import SQLAlchemyError

from connector.errors import StoreUnavailable

__all__ = ["unavailable_on_failure"]

P = ParamSpec("P")
R = TypeVar("R")


def unavailable_on_failure(method: Callable[P, R]) -> Callable[P, R]:
    """Let ``method`` raise ``StoreUnavailable`` for any database failure, the original error as its cause."""

    @functools.wraps(method)
    def guarded(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return method(*args, **kwargs)
        except SQLAlchemyError as error:
            raise StoreUnavailable(f"the store failed ({type(error).__name__})") from error

    return guarded
