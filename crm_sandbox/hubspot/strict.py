"""What HubSpot refuses before it does anything: unknown JSON keys, unsupported query parameters, duplicate ids.

HubSpot deserialises request bodies strictly, so a misspelt key (``filters`` instead of ``filterGroups``) is a
400 ``VALIDATION_ERROR`` naming the field, never a silently broader request. The sandbox answers the same for
query parameters an endpoint does not take, and for a batch that names one id twice ("Duplicate IDs found in
batch input"), as HubSpot's batch endpoints do.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Mapping
from typing import Any

from starlette.requests import Request

from crm_sandbox.hubspot.errors import ApiError

SEARCH_KEYS = frozenset({"filterGroups", "sorts", "properties", "limit", "after", "query"})
FILTER_GROUP_KEYS = frozenset({"filters"})
FILTER_KEYS = frozenset({"propertyName", "operator", "value", "highValue", "values"})
BATCH_READ_KEYS = frozenset({"inputs", "properties", "propertiesWithHistory", "idProperty"})
BATCH_UPDATE_INPUT_KEYS = frozenset({"id", "idProperty", "properties", "objectWriteTraceId"})
ID_INPUT_KEYS = frozenset({"id"})
CREATE_KEYS = frozenset({"properties", "associations", "objectWriteTraceId"})
UPDATE_KEYS = frozenset({"properties", "objectWriteTraceId"})
GDPR_KEYS = frozenset({"objectId", "idProperty"})
MERGE_KEYS = frozenset({"primaryObjectId", "objectIdToMerge"})
INPUTS_ONLY = frozenset({"inputs"})


def known_keys(body: Mapping[str, Any], allowed: Collection[str], model: str) -> None:
    """400 for the first key of ``body`` that the request model ``model`` does not have."""
    for key in body:
        if key not in allowed:
            raise ApiError(
                400,
                "VALIDATION_ERROR",
                f'Invalid input JSON on line 1, column 2: Unrecognized field "{key}" (class '
                f"com.hubspot.inbounddb.publicobject.core.v2.{model}), not marked as ignorable",
                context={"field": [key]},
            )


def search_keys(body: Mapping[str, Any]) -> None:
    """A ``PublicObjectSearchRequest`` with its filter groups and filters: no key unknown at any level."""
    known_keys(body, SEARCH_KEYS, "PublicObjectSearchRequest")
    for group in body.get("filterGroups") or ():
        if isinstance(group, Mapping):
            known_keys(group, FILTER_GROUP_KEYS, "FilterGroup")
            for item in group.get("filters") or ():
                if isinstance(item, Mapping):
                    known_keys(item, FILTER_KEYS, "Filter")


def inputs_keys(inputs: Iterable[Any], allowed: Collection[str], model: str) -> None:
    """Every batch input is an object of the input model's keys."""
    for item in inputs:
        if isinstance(item, Mapping):
            known_keys(item, allowed, model)


def known_params(request: Request, allowed: Collection[str]) -> None:
    """400 for a query parameter the endpoint does not take."""
    for name in request.query_params:
        if name not in allowed:
            raise ApiError(
                400,
                "VALIDATION_ERROR",
                f"Unrecognized query parameter: {name}",
                context={"parameter": [name]},
            )


def unique_ids(ids: Iterable[str]) -> None:
    """400 when a batch names an id more than once (HubSpot refuses the whole batch)."""
    counts = Counter(ids)
    repeated = sorted(i for i, n in counts.items() if n > 1)
    if repeated:
        raise ApiError(
            400,
            "VALIDATION_ERROR",
            f"Duplicate IDs found in batch input: [{', '.join(repeated)}]. IDs must be unique",
            context={"ids": repeated},
        )
