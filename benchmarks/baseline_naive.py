"""The straightforward script a CRM admin would write instead of lawful-crm: the comparison point for the issue
"performance vs the straightforward script".

It reads everything every night (no cursor) with the vendors' SDKs used as their docs show, holds it all in
memory as the SDK returns it, and sends one update call per record whose flags change: no batching, no retries
beyond the SDK's own, no rate limiter. The decisions are lawful-crm's own (the same record building, mapping,
policy and write-back planning as ``connector/sync/pipeline.py``), so the two differ only in their I/O.

* Salesforce (simple-salesforce): ``query_all`` of Contacts and of unconverted Leads with the fields the adapter
  selects, one ``query_all`` of won Opportunities for the latest won close date per account, then
  ``sf.Contact.update`` / ``sf.Lead.update`` per changed record.
* HubSpot (hubspot-api-client): ``contacts.get_all`` with their company associations, ``companies.get_all``,
  then ``contacts.basic_api.update`` per changed contact.

Not sandbagged: the SDKs' default keep-alive sessions are used, and SDK API objects are built once. The only
concession to the sandbox is simple-salesforce's ``https://`` URLs routed to its loopback ``http://`` origin.
Like ``bench_sync.py``, no do-not-call register screening. ``run_baseline`` runs it once against a running
sandbox; ``python benchmarks/baseline_naive.py --crm salesforce|hubspot --contacts N`` starts one, runs it twice
(the second time after 1 % of the records were edited as a user would) and prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from typing import Any

from sandbox_process import (
    adapter,
    api_calls,
    edit_share,
    hubspot_limits,
    peak_rss_mb,
    running_sandbox,
    salesforce_daily_limit,
)

from connector.crm.port import CrmRecord
from connector.mapping.facts import CompiledMapping, facts_from_record
from connector.mapping.load import load_mapping
from connector.policy import PolicySettings, evaluate
from connector.sync.plan import plan_record


def _updates(
    compiled: CompiledMapping, records: Iterable[CrmRecord], *, today: date
) -> list[tuple[CrmRecord, dict[str, Any]]]:
    """Each record whose written values change, with the values to send: what ``Pipeline.decide`` plans."""
    mapping, policy, now = compiled.mapping, PolicySettings(), datetime.now(UTC)
    out = []
    for record in records:
        modified = (record.created or record.modified).date()
        facts = facts_from_record(compiled, record.object_type, record.id, record.fields, modified=modified)
        decision = evaluate(facts, now=today, settings=policy)
        plan = plan_record(
            record.object_type, record.id, record.fields, decision,
            writeback=mapping.writeback, crm=mapping.crm, now=now,
        )  # fmt: skip
        if plan.update is not None:
            out.append((record, dict(plan.update.values)))
    return out


def _salesforce(info: Mapping[str, Any], compiled: CompiledMapping, today: date) -> tuple[int, int, int]:
    from simple_salesforce import Salesforce
    from simple_salesforce.exceptions import SalesforceError

    from connector.crm.salesforce.fields import WON_DEAL_FIELD, object_fields, scope
    from connector.crm.salesforce.records import to_record, value_at
    from crm_sandbox.salesforce.client import loopback_session

    url = info["instance_url"]
    sf = Salesforce(instance_url=url, session_id=info["token"], session=loopback_session(url))
    won: dict[str, str] = {}  # AccountId -> latest won close date
    for row in sf.query_all("SELECT AccountId, CloseDate FROM Opportunity WHERE IsWon = true")["records"]:
        if row["AccountId"] and row["CloseDate"] and row["CloseDate"] > won.get(row["AccountId"], ""):
            won[row["AccountId"]] = row["CloseDate"]
    records: list[CrmRecord] = []
    for object_type in compiled.mapping.objects:
        fields = object_fields(compiled.mapping, object_type)
        where = " WHERE " + " AND ".join(scope(object_type)) if scope(object_type) else ""
        soql = f"SELECT {', '.join(fields.select_list)} FROM {fields.object_type}{where}"
        for row in sf.query_all(soql)["records"]:
            extra = {WON_DEAL_FIELD: won.get(value_at(row, "AccountId"))} if fields.won_deals else None
            records.append(to_record(fields.object_type, row, fields.read, extra=extra))
    written = failed = 0
    sobjects = {name: getattr(sf, name) for name in {r.object_type for r in records}}
    for record, values in _updates(compiled, records, today=today):
        try:
            sobjects[record.object_type].update(record.id, values)
            written += 1
        except SalesforceError:
            failed += 1
    return len(records), written, failed


def _hubspot(info: Mapping[str, Any], compiled: CompiledMapping, today: date) -> tuple[int, int, int]:
    import hubspot
    from hubspot.crm.contacts import ApiException, SimplePublicObjectInput

    from connector.crm.hubspot.records import company_properties_of, contact_properties_of, fetched, record_of
    from connector.crm.salesforce.fields import own_fields  # pure: the write-back field names of any mapping

    mapping = compiled.mapping
    names = [*(name for om in mapping.objects.values() for name in om.fields()), *own_fields(mapping)]
    properties, company_properties = contact_properties_of(names), company_properties_of(names)
    client = hubspot.Client.create(access_token=info["token"], host=info["base_url"].rstrip("/"))
    contacts = client.crm.contacts.get_all(properties=list(properties), associations=["companies"])
    companies: dict[str, dict[str, Any]] = {}
    if company_properties:
        for company in client.crm.companies.get_all(properties=list(company_properties)):
            companies[str(company.id)] = dict(company.properties or {})
    records = []
    for obj in contacts:
        contact = fetched(obj)
        company = companies.get(contact.company_id) if contact.company_id else None
        records.append(record_of(contact, company, company_properties))
    written = failed = 0
    contacts_api = client.crm.contacts.basic_api  # built once: each attribute access builds a new ApiClient
    for record, values in _updates(compiled, records, today=today):
        try:
            contacts_api.update(record.id, SimplePublicObjectInput(properties=values))
            written += 1
        except ApiException:
            failed += 1
    return len(records), written, failed


def run_baseline(crm: str, info: dict[str, Any], *, today: date) -> dict[str, Any]:
    """One nightly run of the naive script against the sandbox ``info``; reads everything, writes changes."""
    compiled = CompiledMapping(load_mapping(crm))
    started = time.perf_counter()
    run = _salesforce if crm == "salesforce" else _hubspot
    read, written, failed = run(info[crm], compiled, today)
    return {"records": read, "written": written, "failed": failed, "seconds": time.perf_counter() - started}


# --- CLI: sandbox in a child process, as bench_sync.py starts it ------------------------------------------------


def _measured(crm: str, info: dict[str, Any], today: date) -> dict[str, Any]:
    before = api_calls(crm, info)
    result = run_baseline(crm, info, today=today)
    result["api_calls"] = api_calls(crm, info) - before
    result["seconds"] = round(result["seconds"], 1)
    result["peak_rss_mb"] = peak_rss_mb()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--crm", required=True, choices=["salesforce", "hubspot"])
    parser.add_argument("--contacts", type=int, default=100_000)
    args = parser.parse_args()
    crm, today = args.crm, datetime.now(UTC).date()  # the date run_sync decides by
    with running_sandbox(args.contacts) as info:
        # the SDK does not retry a refused PATCH: under HubSpot's limit the script would lose writes; on
        # Salesforce one call per record needs far more than the emulator's 15,000 calls a day
        if crm == "hubspot":
            hubspot_limits(info, per_ten_seconds=None)
        else:
            salesforce_daily_limit(info, 10_000_000)
        adapter(crm, info).install(dry_run=False, uninstall=False)  # lawful-crm's install creates the fields
        full = _measured(crm, info, today)
        edited = edit_share(crm, info, records=full["records"], today=today)
        incremental = _measured(crm, info, today) | {"edited": edited}
    print(json.dumps({"tool": "baseline", "crm": crm, "contacts_per_crm": args.contacts, "full": full,
                      "incremental": incremental}, indent=2))  # fmt: skip


if __name__ == "__main__":
    main()
