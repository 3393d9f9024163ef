"""``lawful-crm audit show|export|refused`` and ``lawful-crm forget``: the evidence behind a record's flags."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from connector import bootstrap
from connector.commands.common import open_store_or_exit, settings_or_exit, store_or_exit
from connector.store import INTERRUPTED, AuditRow, Store, WriteStatus

__all__ = ["export_record", "forget_record", "show_record", "show_refused"]


def _store(config: Path | None, store_url: str | None) -> Store:
    return store_or_exit(config, store_url)


def _nothing_kept(store: Store, crm: str, record_id: str) -> str:
    """Why there is no entry: a store without any run is most likely the wrong store (a wrong --config, or a
    relative store path read from another working directory), so the message names the store it opened."""
    if store.runs.recent(limit=1):
        return f"no audit entries for {crm} {record_id}"
    where = bootstrap.describe_store(store.engine.url.render_as_string(hide_password=False))
    return f"this store has no runs yet: {where} — is --config pointing at the right file?"


def _flags(decision: Mapping[str, Any]) -> str:
    call = "no call" if decision["do_not_cold_call"] else "call ok"
    email = "e-mail ok" if decision["email_allowed"] else "no e-mail"
    return f"{call}, {email}" + (", review" if decision["review_needed"] else "")


def _write(row: AuditRow) -> str:
    """What became of the entry's write, in words: a pending entry's values were sent (or about to be) and
    its outcome is not known yet; the next run reads the record and settles it."""
    if row.write_status == WriteStatus.PENDING:
        return "pending (sent, outcome not known yet)"
    if row.error_code == INTERRUPTED:
        return "not written (interrupted)"
    return row.write_status + (f" ({row.error_code})" if row.error_code else "")


def show_record(*, crm: str, record_id: str, config: Path | None, store_url: str | None) -> None:
    """Every decision kept for one record, oldest first, with its reasons and what was written."""
    store = _store(config, store_url)
    rows = store.audit.history(crm, record_id)
    missing = "" if rows else _nothing_kept(store, crm, record_id)
    store.close()
    console = Console()
    if not rows:
        print(missing)
        raise typer.Exit(code=1)
    # Text, not markup strings: reasons hold "[contested]" and "[phone]", which rich would drop as tags.
    table = Table(title=Text(f"{crm} {record_id}: {len(rows)} decision(s)"), show_lines=True)
    for column in ("when (UTC)", "run", "category", "flags", "write", "reasons", "policy"):
        table.add_column(column)
    for row in rows:
        reasons = "\n".join(
            f"{r['rule']} [{r['channel']}] {r['citation']}: {r['text']}" for r in row.decision["reasons"]
        )
        cells = (
            row.decided_at.strftime("%Y-%m-%d %H:%M:%S"),
            str(row.run_id),
            row.decision["lawful_use"],
            _flags(row.decision),
            _write(row),
            reasons,
            row.policy_id,
        )
        table.add_row(*map(Text, cells))
    console.print(table)


def _entry(row: AuditRow) -> dict[str, Any]:
    return {
        "decided_at": row.decided_at.isoformat(),
        "run_id": row.run_id,
        "object_type": row.object_type,
        "policy_id": row.policy_id,
        "facts": row.facts,
        "decision": row.decision,
        "write_status": row.write_status,
        "written": row.written,
        "error_code": row.error_code,
    }


def export_record(
    *, crm: str, record_id: str, output: Path | None, config: Path | None, store_url: str | None
) -> None:
    """A JSON evidence pack: facts, decisions, policy ids, writes and timestamps, plus the runs involved."""
    store = _store(config, store_url)
    rows = store.audit.history(crm, record_id)
    runs = {
        run.id: run for run in store.runs.recent(crm, limit=100_000) if run.id in {r.run_id for r in rows}
    }
    missing = "" if rows else _nothing_kept(store, crm, record_id)
    store.close()
    if not rows:
        print(missing)
        raise typer.Exit(code=1)
    pack = {
        "crm": crm,
        "record_id": record_id,
        "exported_at": datetime.now(UTC).isoformat(),
        "entries": [_entry(row) for row in rows],
        "runs": [
            {
                "id": run.id,
                "kind": run.kind,
                "started_at": run.started_at.isoformat(),
                "finished_at": run.finished_at.isoformat() if run.finished_at else None,
                "outcome": run.outcome,
                "policy_id": run.policy_id,
            }
            for run in runs.values()
        ],
    }
    text = json.dumps(pack, indent=2, ensure_ascii=False)
    if output is None:
        print(text)
    else:
        output.write_text(text + "\n", encoding="utf-8")
        print(f"evidence pack for {crm} {record_id} written to {output}")


def show_refused(*, crm: str | None, as_json: bool, config: Path | None, store_url: str | None) -> None:
    """The records whose latest write the CRM refused (a validation rule, a required field, a duplicate rule),
    oldest first: the code, how many times in a row, the last attempt, and whether the sync has parked them
    (refused more than ``[sync] refused_retries`` times: tried again only when they change in the CRM, under
    another policy, or by a full sync). Fix the org's rule or the record, then edit it or run a full sync."""
    settings = settings_or_exit(config)
    retries = settings.sync.refused_retries
    store = open_store_or_exit(settings, store_url)
    try:
        names = [crm] if crm else sorted({run.crm for run in store.runs.recent(limit=1000)})
        rows = [(name, refusal) for name in names for refusal in store.audit.refusals(name)]
    finally:
        store.close()
    if as_json:
        for name, r in rows:
            print(json.dumps({
                "crm": name, "object_type": r.object_type, "record_id": r.record_id, "code": r.code,
                "times": r.times, "last": r.last.isoformat(), "parked": r.times > retries,
            }))  # fmt: skip
        return
    if not rows:
        print("no record's latest write was refused by the CRM")
        return
    table = Table(
        title=Text(f"{len(rows)} record(s) the CRM refuses to update; parked after {retries + 1} in a row")
    )
    for column in ("crm", "object", "record", "code", "times in a row", "last attempt (UTC)", "parked"):
        table.add_column(column)
    for name, r in rows:
        cells = (name, r.object_type, r.record_id, r.code or "", str(r.times), r.last.strftime("%Y-%m-%d %H:%M:%S"),
                 "yes" if r.times > retries else "no")  # fmt: skip
        table.add_row(*map(Text, cells))
    Console().print(table)


def forget_record(*, crm: str, record_id: str, config: Path | None, store_url: str | None) -> None:
    """Erase one person's audit entries, fingerprint and queued events (a data subject's erasure request)."""
    store = _store(config, store_url)
    erased = store.audit.forget(crm, record_id)
    store.close()
    print(f"erased {erased} audit entr{'y' if erased == 1 else 'ies'} of {crm} {record_id}")
