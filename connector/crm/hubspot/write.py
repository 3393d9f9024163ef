"""Writing the connector's own contact properties: batch update, 100 per call, one outcome per update.

A 207 answer reports failed inputs and writes the rest: unknown or archived ids come back ``gone``, locked ones
are sent again (alone) under the retry policy, anything else is reported with HubSpot's error category. An
invalid value makes HubSpot refuse the whole batch (400 ``VALIDATION_ERROR``, naming the property): records
whose value for that property is not one of its options are refused at once and the rest sent again; when no
record can be told apart that way the batch is halved until the refused records are alone. So one bad record
never keeps 99 others unwritten — unless the refused property does not exist or is read-only, which no record
can fix: that stops the run with a ConfigurationError. Values are sent as the strings HubSpot stores
(``hubspot_value``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any

from connector.crm.hubspot.companies import BATCH
from connector.crm.hubspot.records import OBJECT_TYPE
from connector.crm.hubspot.session import HubSpotSession
from connector.crm.hubspot.translate import RequestRejected
from connector.crm.port import FieldInfo, FieldUpdate, WriteInterrupted, WriteOutcome
from connector.crm.retry import call_with_retries
from connector.errors import ConfigurationError, ConnectorError, CrmContractError, RecordLockedError

__all__ = ["ContactWriter", "chunks", "hubspot_value"]

log = logging.getLogger("lawful_crm.hubspot")
GONE = frozenset({"OBJECT_NOT_FOUND", "OBJECT_ARCHIVED"})
RETRY_INPUT = frozenset({"LOCKED", "RATE_LIMIT", "RATE_LIMITS"})
Item = tuple[int, FieldUpdate]
"""An update and its position in the caller's list."""


def hubspot_value(value: Any) -> str:
    """A value as HubSpot stores it: ``"true"``/``"false"``, ``""`` (clears), ISO dates, datetimes in UTC with
    milliseconds and ``Z``, anything else as its text."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        moment = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def chunks(updates: Sequence[FieldUpdate], size: int = BATCH) -> list[list[Item]]:
    """Consecutive batches of at most ``size`` updates, a record at most once per batch (HubSpot refuses
    duplicate ids in one batch; a later update of the same record goes to a later batch)."""
    out: list[list[Item]] = []
    current: list[Item] = []
    ids: set[str] = set()
    for position, update in enumerate(updates):
        if len(current) == size or update.record_id in ids:
            out.append(current)
            current, ids = [], set()
        current.append((position, update))
        ids.add(update.record_id)
    if current:
        out.append(current)
    return out


class ContactWriter:
    """Batch updates through one session; ``describe`` tells which properties exist and are writable."""

    def __init__(self, session: HubSpotSession, *, describe: Callable[[], Mapping[str, FieldInfo]]) -> None:
        self.session = session
        self.describe = describe

    def write(self, updates: Sequence[FieldUpdate]) -> list[WriteOutcome]:
        """One outcome per update, in the same order."""
        others = sorted({u.object_type for u in updates} - {OBJECT_TYPE})
        if others:
            raise ConfigurationError(f"the HubSpot adapter writes contacts only, not {', '.join(others)}")
        outcomes: dict[int, WriteOutcome] = {}
        try:
            for batch in chunks(updates):
                self._batch(batch, outcomes)
        except ConnectorError as error:
            done = list(outcomes.values())
            if done:
                raise WriteInterrupted(error, completed=done) from error
            raise
        failed = sum(1 for o in outcomes.values() if not o.ok)
        log.info("hubspot wrote %d contacts, %d refused", len(updates) - failed, failed)
        return [outcomes[i] for i in range(len(updates))]

    def _batch(self, items: list[Item], outcomes: dict[int, WriteOutcome]) -> None:
        """Write one batch, recording each input's outcome in ``outcomes`` as soon as HubSpot gives it."""
        try:
            self._with_retries(items, outcomes)
            return
        except RequestRejected as exc:
            if exc.status != 400 or exc.category != "VALIDATION_ERROR":
                raise
            self._check_properties(exc.fields)
            named = exc.fields
        items = [item for item in items if item[0] not in outcomes]  # a retry's refusal: the rest are known
        if not items:
            return
        invalid = [item for item in items if self._not_an_option(item[1], named)]
        for position, update in invalid:
            outcomes[position] = WriteOutcome(update.record_id, ok=False, code="VALIDATION_ERROR")
        rest = [item for item in items if item[0] not in outcomes]
        if invalid:
            if rest:
                self._batch(rest, outcomes)
            return
        if len(items) == 1:
            position, update = items[0]
            outcomes[position] = WriteOutcome(update.record_id, ok=False, code="VALIDATION_ERROR")
            return
        half = len(items) // 2
        self._batch(items[:half], outcomes)
        self._batch(items[half:], outcomes)

    def _not_an_option(self, update: FieldUpdate, names: Sequence[str]) -> bool:
        """Whether ``update`` gives one of the refused properties a value that is not one of its options."""
        fields = self.describe()
        for name in names:
            info = fields.get(name)
            if name not in update.values or info is None or info.values is None:
                continue
            value = hubspot_value(update.values[name])
            if value and any(part not in info.values for part in value.split(";")):
                return True
        return False

    def _with_retries(self, items: list[Item], outcomes: dict[int, WriteOutcome]) -> None:
        """Send the batch; send locked inputs again while the retry policy allows. Each attempt's outcomes go
        into ``outcomes`` at once, so an attempt that fails for good (a 429 or 5xx after every retry) keeps
        those of the attempts before it: those records were written."""
        pending = items

        def attempt() -> None:
            nonlocal pending
            written, errors = self._send(pending)
            retry: list[Item] = []
            for position, update in pending:
                rid = update.record_id
                code = errors.get(rid)
                if rid in written:
                    outcomes[position] = WriteOutcome(rid, ok=True)
                elif code in RETRY_INPUT:
                    retry.append((position, update))
                else:
                    code = code or "NOT_WRITTEN"
                    outcomes[position] = WriteOutcome(rid, ok=False, code=code, gone=code in GONE)
            pending = retry
            if pending:
                raise RecordLockedError(
                    f"{len(pending)} HubSpot inputs locked", record_id=pending[0][1].record_id
                )

        try:
            call_with_retries(self.session.retry, attempt)
        except RecordLockedError:
            for position, update in pending:
                outcomes[position] = WriteOutcome(update.record_id, ok=False, code="LOCKED", temporary=True)

    def _send(self, items: list[Item]) -> tuple[set[str], dict[str, str]]:
        """(ids written, error category by id) of one batch update call."""
        inputs = [
            {"id": u.record_id, "properties": {name: hubspot_value(v) for name, v in u.values.items()}}
            for _, u in items
        ]
        answer = self.session.send(
            "contacts.batch_update",
            self.session.apis.contacts_batch.update_with_http_info,
            raw=True,
            batch_input_simple_public_object_batch_input={"inputs": inputs},
        )
        if not isinstance(answer, Mapping):
            raise CrmContractError("HubSpot answered a batch update with an unexpected shape")
        written = {str(obj["id"]) for obj in answer.get("results") or () if isinstance(obj, Mapping)}
        errors: dict[str, str] = {}
        for error in answer.get("errors") or ():
            if not isinstance(error, Mapping):
                continue
            category = str(error.get("category") or "UNKNOWN")
            for rid in (error.get("context") or {}).get("ids", []) or []:
                errors[str(rid)] = category
        return written, errors

    def _check_properties(self, names: Sequence[str]) -> None:
        fields = self.describe()
        unusable = sorted(n for n in names if n not in fields or not fields[n].writable)
        if unusable:
            raise ConfigurationError(
                f"HubSpot refused to write {', '.join(unusable)}: missing or read-only; run install",
                problems=tuple(f"{n}: missing or read-only" for n in unusable),
            )
