"""Writing the connector's fields back: sObject Collections in 200s, Bulk API 2.0 for big runs.

Updates are sorted by object type (stably) and sent 200 at a time through `composite/sobjects` PATCH with
`allOrNone = false`, so 1,000 updates take five calls. Records that come back UNABLE_TO_LOCK_ROW are sent again,
alone, under the retry policy; deleted, merged and converted records are reported gone; validation failures are
reported with their code; a field the integration user may not write stops the run with a ConfigurationError
naming it. A write() of more than `bulk_write_threshold` updates (or one asked for in bulk: the sync's run-level
buffer) goes through one Bulk API 2.0 update job per object type instead; its locked rows are retried through
Collections. Outcomes come back in the order of the updates.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from functools import partial
from itertools import groupby
from typing import Any, cast

from simple_salesforce.api import Salesforce

from connector.crm.port import FieldUpdate, WriteInterrupted, WriteOutcome
from connector.crm.retry import call_with_retries
from connector.crm.salesforce import bulk
from connector.crm.salesforce.connection import Connection
from connector.crm.salesforce.payload import (
    LOCKED,
    UNPROCESSED,
    FieldSecurity,
    bulk_csv,
    bulk_results,
    check_own_fields,
    collection_record,
    judge,
    judge_collection_result,
    unprocessed_ids,
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
        bulk_write_threshold: int,
        bulk_poll_s: float,
        unwritable: Unwritable,
        meter: bulk.BulkMeter | None = None,
    ) -> None:
        self.connection, self.own_fields = connection, own_fields
        self.meter = meter or bulk.BulkMeter()
        self.bulk_write_threshold, self.bulk_poll_s = bulk_write_threshold, bulk_poll_s
        self.unwritable = unwritable

    def write(self, updates: Sequence[FieldUpdate], *, bulk: bool = False) -> list[WriteOutcome]:
        """One outcome per update, same order; through Bulk API 2.0 when `bulk` or above the threshold."""
        check_own_fields(updates, self.own_fields)
        if not updates:
            return []
        outcomes: list[WriteOutcome | None] = [None] * len(updates)
        order = sorted(range(len(updates)), key=lambda index: updates[index].object_type)
        try:
            if bulk or len(updates) > self.bulk_write_threshold:
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
                outcomes[index] = WriteOutcome(
                    updates[index].record_id, ok=False, code=LOCKED, temporary=True
                )

    def _bulk(
        self,
        object_type: str,
        updates: Sequence[FieldUpdate],
        indexes: list[int],
        outcomes: list[WriteOutcome | None],
    ) -> None:
        """One Bulk API 2.0 update job for one object type; locked rows go back through Collections.

        The job is created, uploaded, closed and polled to its end, then its successful and failed results
        (and, when it did not process every row, its unprocessed ones) give each row its outcome, unless the
        job's info already says every row was written (`job_results`). A job that
        fails as a whole raises: for a column the user may not write, the ConfigurationError naming it."""
        data = bulk_csv([updates[index] for index in indexes])
        count = self.meter.counted
        job_id = self.connection.call(
            f"bulk update {object_type}", count("job", partial(bulk.create_update, object_type=object_type))
        )
        self.connection.call("bulk upload", count("other", partial(bulk.upload, job_id=job_id, data=data)))
        self.connection.call("bulk close", count("other", partial(bulk.close, job_id=job_id)))
        info = self.await_job(job_id)
        if info.get("state") != "JobComplete":
            columns = sorted({name for index in indexes for name in updates[index].values})
            refused = self.unwritable(object_type, columns)
            if refused:
                self._settle(updates, indexes[:1], [FieldSecurity("INVALID_FIELD", tuple(refused))], outcomes)
            raise CrmContractError(
                f"a Bulk API 2.0 update job ended {info.get('state')}: {info.get('errorMessage')}"
            )
        codes = self.job_results(job_id, info, ids=[updates[index].record_id for index in indexes])
        verdicts = [
            judge(updates[index].record_id, code=codes.get(updates[index].record_id, LOCKED))
            for index in indexes
        ]
        locked = self._settle(updates, indexes, verdicts, outcomes)
        log.info("bulk update job for %d %s records, %d to retry", len(indexes), object_type, len(locked))
        for start in range(0, len(locked), COLLECTION_SIZE):
            self._collection(updates, locked[start : start + COLLECTION_SIZE], outcomes)

    def await_job(self, job_id: str) -> dict[str, Any]:
        """Poll an ingest job until it has ended; its last info."""
        return bulk.wait(
            lambda: self.connection.call(
                "bulk job state",
                self.meter.counted("poll", partial(bulk.job_info, kind="ingest", job_id=job_id)),
            ),
            poll_s=self.bulk_poll_s,
        )

    def job_results(self, job_id: str, info: dict[str, Any], *, ids: Sequence[str]) -> dict[str, str | None]:
        """Record id -> error code (None: written) for the rows `ids` of an ended job, from its result CSVs; rows
        the job never processed are `UNPROCESSED` (not written: the next run reads them again).

        A job whose last info says it processed every row and failed none (`numberRecordsProcessed` counts the
        failed rows too) wrote them all, and its result CSVs would only repeat that: they are not read, which
        saves two of a job's requests in the usual case."""
        processed = int(info.get("numberRecordsProcessed") or 0)
        if info.get("numberRecordsFailed") == 0 and processed == len(ids):
            return dict.fromkeys(ids)

        def read(which: str) -> str:
            return self.connection.call(
                f"bulk {which}",
                self.meter.counted("other", partial(bulk.ingest_results, job_id=job_id, which=which)),
            )

        codes: dict[str, str | None] = dict(bulk_results(read("successfulResults"), read("failedResults")))
        if processed < len(ids):
            codes.update(
                (record_id, UNPROCESSED) for record_id in unprocessed_ids(read("unprocessedrecords"))
            )
        return codes

    def finish_in_flight(self, object_types: Sequence[str]) -> int:
        """Let the update jobs a stopped run left behind end before their records are read back: a job still
        Open (never closed) is aborted, so it writes nothing; one queued or running is polled to its end, so
        its rows are written once and the read-back finds them. Returns how many jobs were found."""
        user = self.connection.token_user_id()
        wanted = {name.lower() for name in object_types}
        jobs = [
            job for job in self.connection.call("bulk list jobs", self.meter.counted("other", bulk.ingest_jobs))
            if str(job.get("object", "")).lower() in wanted and job.get("state") not in bulk.ENDED
            and job.get("operation") == "update" and (user is None or job.get("createdById") in (user, user[:15]))
        ]  # fmt: skip
        for job in jobs:
            job_id = str(job["id"])
            if job.get("state") == "Open":
                abort = partial(bulk.abort, kind="ingest", job_id=job_id)
                self.connection.call("bulk abort", self.meter.counted("other", abort))
            else:
                self.await_job(job_id)
        if jobs:
            log.info("%d Bulk API 2.0 update jobs of a stopped run found and ended", len(jobs))
        return len(jobs)

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
