"""Subscription statuses (communication preferences): the account's types once per run, each page's statuses in
one v4 batch read.

hubspot-api-client 12.0.0 wraps only the v3 API (definitions, one address at a time), so the v4 batch read
``POST /communication-preferences/v4/statuses/batch/read?channel=EMAIL`` goes through the same SDK client's
``call_api``, through the session (token, limiter, retries, translation) like every other call. Statuses belong
to e-mail addresses: a page's distinct addresses are read at once, and each contact gets its address's
statuses as ``fields[STATUSES_FIELD]`` (see ``connector.mapping.subscriptions``). A contact without an address,
or whose address HubSpot refuses or does not know (a per-input error of a 207), gets none. Nothing of an
address is ever logged: only counts.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from connector.crm.hubspot.records import parse_time
from connector.crm.hubspot.session import HubSpotSession
from connector.crm.port import CrmRecord
from connector.mapping.subscriptions import STATUSES_FIELD, SubscriptionStatus

__all__ = ["BATCH_READ_PATH", "MAX_INPUTS", "StatusReader"]

log = logging.getLogger("lawful_crm.hubspot")
BATCH_READ_PATH = "/communication-preferences/v4/statuses/batch/read"
MAX_INPUTS = 1000
"""Addresses per batch read: more than a page of contacts (200), so a page costs one call."""
_STATES = frozenset({"SUBSCRIBED", "UNSUBSCRIBED", "NOT_SPECIFIED"})


class StatusReader:
    """Reads subscription types and statuses through one session; one instance per run."""

    def __init__(self, session: HubSpotSession, *, email_properties: Sequence[str]) -> None:
        self.session = session
        self.email_properties = list(email_properties)
        self._types: dict[str, str] | None = None

    def types(self) -> dict[str, str]:
        """The account's subscription types, id -> name (read once)."""
        if self._types is None:
            answer = self.session.call(
                "subscriptions.definitions",
                self.session.apis.subscriptions.get_page_with_http_info,
                raw=True,
            )
            self._types = {
                str(item.get("id")): str(item.get("name") or "")
                for item in answer.get("subscriptionDefinitions") or ()
                if isinstance(item, Mapping)
            }
        return self._types

    def attach(self, records: Sequence[CrmRecord]) -> list[CrmRecord]:
        """The records, each live one with its address's statuses (one batch read for the whole page)."""
        addresses = {r.id: self._address(r) for r in records if not r.deleted}
        found = self.statuses([a for a in addresses.values() if a is not None])
        return [
            r
            if r.id not in addresses
            else replace(r, fields={**r.fields, STATUSES_FIELD: found.get(addresses[r.id] or "", ())})
            for r in records
        ]

    def statuses(self, addresses: Iterable[str]) -> dict[str, tuple[SubscriptionStatus, ...]]:
        """Folded address -> its statuses, ``MAX_INPUTS`` addresses per call."""
        wanted = list(dict.fromkeys(addresses))
        if not wanted:
            return {}
        names = self.types()
        out: dict[str, tuple[SubscriptionStatus, ...]] = {}
        refused = 0
        for start in range(0, len(wanted), MAX_INPUTS):
            answer = self.session.call(
                "subscriptions.batch_read",
                self.session.apis.subscriptions.api_client.call_api,
                raw=True,
                resource_path=BATCH_READ_PATH,
                method="POST",
                query_params=[("channel", "EMAIL")],
                header_params={"Accept": "application/json", "Content-Type": "application/json"},
                body={"inputs": wanted[start : start + MAX_INPUTS]},
                auth_settings=["oauth2"],
            )
            for result in answer.get("results") or ():
                subscriber = str(result.get("subscriberIdString") or "").strip().lower()
                out[subscriber] = tuple(_status(item, names) for item in result.get("statuses") or ())
            refused += int(answer.get("numErrors") or 0)
        if refused:
            log.info("hubspot subscription statuses: %d addresses unknown or refused", refused)
        return out

    def _address(self, record: CrmRecord) -> str | None:
        for name in self.email_properties:
            value = record.fields.get(name)
            if isinstance(value, str) and "@" in value.strip():
                return value.strip().lower()
        return None


def _status(item: Mapping[str, Any], names: Mapping[str, str]) -> SubscriptionStatus:
    """One ``PublicStatus``; an unknown state reads as NOT_SPECIFIED (it says nothing)."""
    subscription_id = str(item.get("subscriptionId"))
    state = str(item.get("status"))
    moment = parse_time(item.get("timestamp"))
    basis = item.get("legalBasis")
    return SubscriptionStatus(
        subscription_id=subscription_id,
        name=str(item.get("subscriptionName") or names.get(subscription_id, "")),
        status=state if state in _STATES else "NOT_SPECIFIED",  # type: ignore[arg-type]
        at=moment.date() if moment is not None else None,
        legal_basis=str(basis) if basis else None,
    )
