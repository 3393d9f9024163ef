"""Policy core throughput on one core: evaluations/s on built models, and classify lines/s end to end.

Prints one JSON object. Usage: python benchmarks/bench_policy.py [--contacts N] [--seed S]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from typing import Any

from connector.jsonlines import classify_lines
from connector.models import ContactFacts, SourceKind
from connector.policy import PolicySettings, evaluate

NOW = date(2026, 11, 28)
SOURCES = [kind.value for kind in SourceKind]


def _day(rng: random.Random) -> str:
    return (date(2019, 1, 1) + timedelta(days=rng.randrange(2900))).isoformat()


def generated_facts(n: int, seed: int) -> list[dict[str, Any]]:
    """A reproducible mix of countries, entity types, sources, consents, customers and registers."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        country = rng.choice(["NL", "NL", "NL", "DE", "BE", "FR", "GB", "US", None])
        record: dict[str, Any] = {
            "id": f"003{i:015d}",
            "country": country,
            "entity_type": rng.choice(["business", "business", "sole_trader", "consumer", "unknown"]),
            "sources": [{"kind": rng.choice(SOURCES), "date": _day(rng)} for _ in range(rng.randint(0, 2))],
            "email": {
                "kind": rng.choice(["named_business", "role_generic", "free_mail", "none"]),
                "published_for_offers": rng.random() < 0.05,
            },
            "call_target": rng.choice(["general_number_role", "company_line_named", "private_mobile"]),
        }
        if rng.random() < 0.4:
            record["consents"] = [
                {"channel": rng.choice(["email", "phone"]), "date": _day(rng), "specific": rng.random() < 0.9}
            ]
        if rng.random() < 0.25:
            record["customer"] = {
                "last_sale": _day(rng),
                "informed_at_collection": rng.random() < 0.7,
                "optout_in_every_message": True,
            }
        if rng.random() < 0.1:
            record["optout_email"] = _day(rng)
        if rng.random() < 0.03:
            record["objection"] = _day(rng)
        if country in ("BE", "GB") and rng.random() < 0.7:
            register = "BE_DNCM" if country == "BE" else rng.choice(["UK_TPS", "UK_CTPS"])
            record["dnc"] = [{"list": register, "listed": rng.random() < 0.2, "checked": "2026-11-20"}]
        out.append(record)
    return out


def bench_evaluate(
    models: list[ContactFacts], settings: PolicySettings, *, repeat: int = 3
) -> tuple[float, float]:
    """Evaluations/s: the best of ``repeat`` passes over the models, and the first pass alone (the engine's
    memory of decided signatures still filling, as in the first pages of a sync). The inputs are frozen out of
    the garbage collector's way, as they are when a sync evaluates one page at a time."""
    gc.collect()
    gc.freeze()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        for facts in models:
            evaluate(facts, now=NOW, settings=settings)
        times.append(time.perf_counter() - start)
    gc.unfreeze()
    return len(models) / min(times), len(models) / times[0]


def bench_classify_in_process(lines: list[str], settings: PolicySettings) -> float:
    start = time.perf_counter()
    written = 0
    for _, result in classify_lines(lines, now=NOW, settings=settings):
        written += len(result.model_dump_json()) if hasattr(result, "model_dump_json") else 0
    return len(lines) / (time.perf_counter() - start)


def bench_classify_cli(lines: list[str]) -> float:
    """The real command, a file in and stdout to /dev/null, start-up included."""
    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False) as handle:
        handle.write("\n".join(lines) + "\n")
    try:
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "connector.cli", "classify", handle.name, "--now", NOW.isoformat()],
            stdout=subprocess.DEVNULL,
            check=True,
        )
        return len(lines) / (time.perf_counter() - start)
    finally:
        os.unlink(handle.name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    records = generated_facts(args.contacts, args.seed)
    lines = [json.dumps(r) for r in records]
    models = [ContactFacts.model_validate(r) for r in records]
    settings = PolicySettings()
    bench_evaluate(models[:2000], settings)  # warm caches
    best, first = bench_evaluate(models, settings)
    result = {
        "benchmark": "policy",
        "contacts": args.contacts,
        "cores": 1,
        "evaluate_per_s": round(best),
        "evaluate_per_s_first_pass": round(first),
        "classify_lines_per_s_in_process": round(bench_classify_in_process(lines, settings)),
        "classify_lines_per_s_cli": round(bench_classify_cli(lines)),
        "goal_evaluate_per_s": 100_000,
        "goal_classify_lines_per_s": 30_000,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
