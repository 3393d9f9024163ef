"""Writing the connector's fields back: sObject Collections in 200s, Bulk API 2.0 for big runs.

Updates are sorted by object type (stably) and sent 200 at a time through `composite/sobjects` PATCH with
`allOrNone = false`, so 1,000 updates take five calls. Records that come back UNABLE_TO_LOCK_ROW are sent again,
alone, under the retry policy; deleted, merged and converted records are reported gone; validation failures are
reported with their code; a field the integration user may not write stops the run with a ConfigurationError
naming it. A write() of more than `bulk_threshold` updates goes through one Bulk API 2.0 ingest job per object
type instead; its locked rows are retried through Collections. Outcomes come back in the order of the updates.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from functools import partial
from itertools import groupby
from typing import Any, cast

from simple_salesforce.api import Salesforce
from simple_salesforce.bulk2 import SFBulk2Handler, SFBulk2Type

from connector.crm.port import FieldUpdate, WriteInterrupted, WriteOutcome
from connector.crm.retry import call_with_retries
from connector.crm.salesforce.connection import Connection
from connector.crm.salesforce.payload import (
    LOCKED,
    FieldSecurity,
    bulk_results,
    check_own_fields,
    collection_record,
    csv_row,
    judge,
    judge_collection_result,
)
from connector.errors import ConfigurationError, ConnectorError, CrmContractError, RecordLockedError

__all__ = ["Writer"]

log = logging.getLogger("lawful_crm.salesforce")
COLLECTION_SIZE = 200
Unwritable = Callable[[str, Sequence[str]], list[str]]


class Writer:
    """Writes FieldUpdates through one Connection (see module docstring)."""

    def __init__(
        self,
        connection: Connection,
        *,
        own_fields: Sequence[str],
        bulk_threshold: int,
        bulk_poll_s: int,
        unwritable: Unwritable,
    ) -> None:
        self.connection, self.own_fields = connection, own_fields
        self.bulk_threshold, self.bulk_poll_s, self.unwritable = bulk_threshold, bulk_poll_s, unwritable

    def write(self, updates: Sequence[FieldUpdate]) -> list[WriteOutcome]:
        check_own_fields(updates, self.own_fields)
        if not updates:
            return []
        outcomes: list[WriteOutcome | None] = [None] * len(updates)
        order = sorted(range(len(updates)), key=lambda index: updates[index].object_type)
        try:
            if len(updates) > self.bulk_threshold:
                for object_type, group in groupby(order, key=lambda index: updates[index].object_type):
                    self._bulk(object_type, updates, list(group), outcomes)
            else:
                for start in range(0, len(order), COLLECTION_SIZE):
                    self._collection(updates, order[start : start + COLLECTION_SIZE], outcomes)
        except ConnectorError as error:
            done = [outcome for outcome in outcomes if outcome is not None]
            if done:
                raise WriteInterrupted(error, completed=done) from error
            raise
        missing = [index for index, outcome in enumerate(outcomes) if outcome is None]
        if missing:
            raise CrmContractError(
                f"Salesforce answered no result for {len(missing)} of {len(updates)} updates"
            )
        done = cast(list[WriteOutcome], outcomes)
        failed = sum(not outcome.ok for outcome in done)
        log.info("wrote %d Salesforce records, %d not written", len(done) - failed, failed)
        return done

    def _collection(
        self, updates: Sequence[FieldUpdate], indexes: list[int], outcomes: list[WriteOutcome | None]
    ) -> None:
        """Send one collection; send its locked records again under the retry policy."""
        pending = list(indexes)

        def attempt() -> None:
            nonlocal pending
            body = {"allOrNone": False, "records": [collection_record(updates[index]) for index in pending]}
            results = self.connection.invoke("write composite/sobjects", partial(_patch, body=body))
            if not isinstance(results, list) or len(results) != len(pending):
                raise CrmContractError(
                    "Salesforce answered a collection update with the wrong number of results"
                )
            verdicts = [
                judge_collection_result(updates[index].record_id, result)
                for index, result in zip(pending, results, strict=True)
            ]
            pending = self._settle(updates, pending, verdicts, outcomes)
            if pending:
                raise RecordLockedError(
                    f"{len(pending)} records locked", record_id=updates[pending[0]].record_id
                )

        try:
            call_with_retries(self.connection.retry, attempt)
        except RecordLockedError:
            for index in pending:
                outcomes[index] = WriteOutcome(updates[index].record_id, ok=False, code=LOCKED)

    def _bulk(
        self,
        object_type: str,
        updates: Sequence[FieldUpdate],
        indexes: list[int],
        outcomes: list[WriteOutcome | None],
    ) -> None:
        """One Bulk API 2.0 ingest job for one object type; locked rows go back through Collections."""
        rows = [csv_row(updates[index]) for index in indexes]
        try:
            results = self.connection.call(
                f"bulk update {object_type}",
                partial(_bulk_update, object_type=object_type, rows=rows, wait=self.bulk_poll_s),
            )
        except CrmContractError:  # a failed job: most often a column the user may not write
            columns = sorted({name for index in indexes for name in updates[index].values})
            refused = self.unwritable(object_type, columns)
            if refused:
                self._settle(updates, indexes[:1], [FieldSecurity("INVALID_FIELD", tuple(refused))], outcomes)
            raise
        codes: dict[str, str | None] = dict(results)
        verdicts = [
            judge(updates[index].record_id, code=codes.get(updates[index].record_id, LOCKED))
            for index in indexes
        ]
        locked = self._settle(updates, indexes, verdicts, outcomes)
        log.info("bulk job for %d %s records, %d to retry", len(indexes), object_type, len(locked))
        for start in range(0, len(locked), COLLECTION_SIZE):
            self._collection(updates, locked[start : start + COLLECTION_SIZE], outcomes)

    def _settle(
        self,
        updates: Sequence[FieldUpdate],
        indexes: list[int],
        verdicts: list[WriteOutcome | FieldSecurity | None],
        outcomes: list[WriteOutcome | None],
    ) -> list[int]:
        """Record the outcomes; raise for field security; return the indexes that were locked."""
        locked: list[int] = []
        refused: dict[str, set[str]] = {}
        for index, verdict in zip(indexes, verdicts, strict=True):
            if verdict is None:
                locked.append(index)
            elif isinstance(verdict, FieldSecurity):
                update = updates[index]
                names = verdict.fields or self.unwritable(update.object_type, list(update.values))
                refused.setdefault(update.object_type, set()).update(names or update.values)
            else:
                outcomes[index] = verdict
        if refused:
            names = tuple(
                f"{obj}.{name}" for obj, fields in sorted(refused.items()) for name in sorted(fields)
            )
            raise ConfigurationError(
                f"Salesforce refused to write {', '.join(names)}: the field is missing or the integration user "
                "may not edit it (field-level security); run `lawful-crm install`",
                problems=names,
            )
        return locked


def _patch(client: Salesforce, *, body: dict[str, Any]) -> Any:
    return client.restful("composite/sobjects", method="PATCH", json=body)


def _bulk_update(
    client: Salesforce, *, object_type: str, rows: list[dict[str, str]], wait: int
) -> list[tuple[str, str | None]]:
    """Run the ingest job(s) and read back each row's result: (record id, error code or None)."""
    job_type = cast(SFBulk2Type, getattr(cast(SFBulk2Handler, client.bulk2), object_type))
    answers: list[tuple[str, str | None]] = []
    for job in job_type.update(records=rows, wait=wait):
        job_id = str(job["job_id"])
        answers.extend(
            bulk_results(job_type.get_successful_records(job_id), job_type.get_failed_records(job_id))
        )
    return answers
