"""Benchmark the retry budgets under the Salesforce sandbox's fault mix: locked rows and 503s at once.

A full sync of N contacts (and the sandbox's leads) on the Salesforce emulator in this process, real
simple-salesforce over HTTP, retries without waiting, while a fifth of the rows of every collection write come
back UNABLE_TO_LOCK_ROW and an eighth of all calls are answered 503. Each fault seed runs twice: under the retry
policy (locked rows and failing calls each with their own budget) and under one shared budget of as many
attempts (how collections were retried before), to show what the separate budgets change. Prints one JSON
object: per policy, the runs that completed, records written, records left failed, and API calls.
Usage: ``python benchmarks/bench_retry_budgets.py [--contacts 800] [--seeds 5]``.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt

from connector.crm.retry import RetryPolicy, set_testing
from connector.crm.salesforce import SalesforceCrm
from connector.errors import RetriableError
from connector.mapping.facts import CompiledMapping
from connector.mapping.load import load_mapping
from connector.policy import PolicySettings
from connector.settings import SalesforceConfig
from connector.store import open_store
from connector.sync.run import Outcome, SyncOptions, run_sync
from crm_sandbox.salesforce.faults import SalesforceFaults
from crm_sandbox.salesforce.server import running_salesforce

LOCKED_SHARE = 0.2
REFUSED_SHARE = 0.12


@dataclass(frozen=True, slots=True)
class SharedBudget(RetryPolicy):
    """One attempt budget for locked rows and failing calls together."""

    def retrying(self) -> Retrying:
        return Retrying(
            retry=retry_if_exception_type(RetriableError),
            stop=stop_after_attempt(self.attempts),
            wait=self._wait,
            reraise=True,
        )


def one_run(policy: RetryPolicy, *, contacts: int, seed: int) -> dict[str, Any]:
    mapping = load_mapping("salesforce")
    faults = SalesforceFaults(
        seed=seed, record_error_rate=LOCKED_SHARE, error_rate=REFUSED_SHARE, error_status=503
    )
    with (
        running_salesforce(contacts=contacts, seed=seed, faults=faults, connector_fields=True) as sandbox,
        tempfile.TemporaryDirectory() as folder,
    ):
        config = SalesforceConfig(
            auth="session", instance_url=sandbox.base_url, session_id=SecretStr(sandbox.token), page_size=300
        )
        crm = SalesforceCrm.from_config(config, mapping, retry=policy, bulk_poll_s=0)
        store = open_store(f"sqlite:///{Path(folder) / 'store.db'}")
        result = run_sync(crm, CompiledMapping(mapping), PolicySettings(), store, SyncOptions())
        store.close()
        return {
            "completed": result.outcome is Outcome.COMPLETED,
            "written": result.tally.written,
            "failed": result.tally.failed,
            "api_calls": result.api_calls,
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=800)
    parser.add_argument("--seeds", type=int, default=5)
    args = parser.parse_args()
    set_testing(enabled=True)
    figures: dict[str, Any] = {
        "contacts": args.contacts,
        "locked_share": LOCKED_SHARE,
        "refused_share": REFUSED_SHARE,
    }
    for name, policy in (("separate_budgets", RetryPolicy()), ("shared_budget", SharedBudget())):
        runs = [one_run(policy, contacts=args.contacts, seed=seed) for seed in range(1, args.seeds + 1)]
        figures[name] = {
            "runs": len(runs),
            "completed": sum(run["completed"] for run in runs),
            "written": [run["written"] for run in runs],
            "failed": [run["failed"] for run in runs],
            "api_calls": [run["api_calls"] for run in runs],
        }
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
