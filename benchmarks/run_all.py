"""lawful-crm against the straightforward script, on the sandbox, side by side; and lawful-crm alone at scale.

For each size (10,000 and 100,000 contacts per CRM by default) and each CRM: one run of ``bench_sync.py``
(lawful-crm: full first run, then an incremental run after 1 % of the records were edited) and one of
``baseline_naive.py`` (query everything, one update call per changed record, twice in the same way). Then the
scale series: lawful-crm alone with HubSpot's rate limit off, up to 1,000,000 contacts, for memory and time.
Each run is a child process with its own sandbox, so every peak memory figure is one tool's own.

API calls are the sandbox's counts. The floor is the fewest calls the APIs allow (SOQL pages of 2,000, 200 per
collection write; HubSpot search pages of 200, 100 per batch read and batch write). HubSpot runs of lawful-crm keep the
sandbox's rolling limit of 190 per 10 s; the baseline runs without it (the SDK does not retry a refused update,
so under the limit the script loses writes), and its time under the limit is given as the least its calls need.

Then the large org (1,000,000 contacts per CRM by default): Salesforce full run with Bulk API 2.0 and an
ordinary run after 1 % edited (``bench_bulk.py --incremental``), HubSpot full and ordinary run with its limits off
(``bench_sync.py``), side by side with the REST figures measured before Bulk API 2.0 and the compact audit.

Writes ``benchmarks/results/latest.json`` and ``docs/performance.md``; prints the JSON. Goals measured by other
scripts (``other_goals`` in the JSON: goal, measured, met) are listed with the others. ``--render`` only
rewrites the markdown from the saved results (with ``--notes FILE`` appended); ``--only-large`` runs only the
large org and keeps the other saved results.
Usage: ``python benchmarks/run_all.py [--sizes 10000 100000] [--scale 10000 100000 1000000] [--large 1000000]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench_sync import floor_seconds

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "latest.json"
REPORT = HERE.parent / "docs" / "performance.md"
CRMS = ("salesforce", "hubspot")
FULL_ONLY_ABOVE = 300_000
"""Scale runs above this size are full runs only: the emulators scan every record to answer an incremental
query that leaves out lawful-crm's own write-back, which at a million records outlasts the client's timeout."""
GOAL_FLOOR, GOAL_BASELINE, GOAL_RATE, GOAL_MB, GOAL_INCREMENTAL = 1.1, 50.0, 1.15, 300.0, 0.03
GOAL_LARGE_REST_CALLS, GOAL_LARGE_RATE, GOAL_AUDIT_BYTES = 100, 2_500, 400.0
BEFORE_BULK = {
    "records": 1_262_683, "rest_calls": 7_448, "seconds": 972.4, "records_per_second": 1_298,
    "peak_rss_mb": 149.6, "store_bytes_per_record": 1_800,
}  # fmt: skip
"""The Salesforce full run at 1,000,000 contacts over REST alone, with the audit before migration 0007 (measured
2026-11-28, ``latest.json`` of that day): what the large-org figures are set beside."""


PARTIAL = HERE / "results" / "partial.json"
"""Each child's JSON as soon as it is known, so that ``--resume`` after an interruption redoes only the rest."""
_done: dict[str, dict[str, Any]] = {}


def run_json(script: str, *args: str) -> dict[str, Any]:
    """Run one benchmark script in a child process and return the JSON object it prints."""
    key = " ".join((script, *args))
    if key in _done:
        return _done[key]
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, str(HERE / script), *args], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"{script} {' '.join(args)} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    print(f"  {script} {' '.join(args)}: {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
    result: dict[str, Any] = json.loads(done.stdout)
    _done[key] = result
    PARTIAL.parent.mkdir(parents=True, exist_ok=True)
    PARTIAL.write_text(json.dumps(_done, indent=2) + "\n", encoding="utf-8")
    return result


def compare(size: int) -> dict[str, Any]:
    """lawful-crm and the baseline on `size` contacts per CRM, with the derived ratios."""
    ours = run_json("bench_sync.py", "--contacts", str(size))
    out: dict[str, Any] = {}
    for crm in CRMS:
        naive = run_json("baseline_naive.py", "--crm", crm, "--contacts", str(size))
        if naive["full"]["failed"] or naive["incremental"]["failed"]:
            raise SystemExit(
                f"the baseline lost writes on {crm} at {size} contacts: the comparison would flatter it"
            )
        lawful = ours[crm]
        full, inc = lawful["full"], lawful["incremental"]
        out[crm] = {
            "lawful_crm": lawful,
            "baseline": {"full": naive["full"], "incremental": naive["incremental"]},
            "full_calls_baseline_over_lawful_crm": round(naive["full"]["api_calls"] / full["api_calls"], 1),
            "incremental_calls_baseline_over_lawful_crm": round(
                naive["incremental"]["api_calls"] / max(inc["api_calls"], 1), 1
            ),
        }
        if crm == "hubspot":
            out[crm]["baseline"]["full"]["seconds_at_rate_limit"] = floor_seconds(naive["full"]["api_calls"])
    return out


def scale(sizes: list[int]) -> list[dict[str, Any]]:
    """lawful-crm alone, HubSpot rate limit off: records per second and peak memory as the org grows."""
    rows = []
    for size in sizes:
        # above FULL_ONLY_ABOVE the emulators' answers to incremental queries, not lawful-crm, set the pace
        extra = ("--full-only",) if size > FULL_ONLY_ABOVE else ()
        figures = run_json("bench_sync.py", "--contacts", str(size), "--no-rate-limit", *extra)
        for crm in CRMS:
            full, incremental = figures[crm]["full"], figures[crm].get("incremental", {})
            rows.append({
                "contacts": size, "crm": crm, "records": full["records"], "api_calls": full["api_calls"],
                "calls_vs_floor": full["calls_vs_floor"], "seconds": full["seconds"],
                "records_per_second": full["records_per_second"],
                "incremental_calls": incremental.get("api_calls", "–"),
                "incremental_seconds": incremental.get("seconds", "–"),
            })  # fmt: skip
        rows.append({"contacts": size, "crm": "both", "peak_rss_mb": figures["peak_rss_mb"]})
    return rows


def large_org(size: int) -> dict[str, Any]:
    """A large org: Salesforce with Bulk API 2.0 (full, then ordinary after 1 % edited), HubSpot likewise."""
    salesforce = run_json("bench_bulk.py", "--contacts", str(size), "--incremental")
    hubspot = run_json("bench_sync.py", "--contacts", str(size), "--crm", "hubspot", "--no-rate-limit")
    return {"contacts": size, "salesforce": salesforce, "hubspot": hubspot["hubspot"],
            "hubspot_peak_rss_mb": hubspot["peak_rss_mb"]}  # fmt: skip


def large_goals(large: dict[str, Any]) -> list[tuple[str, str, bool]]:
    """The large-org goals: REST calls, pace and memory of the Salesforce full run, audit size, ordinary runs."""
    sf = large["salesforce"]
    full, records = sf["salesforce_full_bulk"], f"{sf['salesforce_full_bulk']['records']:,}"
    shares = {"Salesforce": sf["incremental_calls_share_of_full"],
              "HubSpot": large["hubspot"]["incremental_calls_share_of_full"]}  # fmt: skip
    worst = max(shares.values())
    return [
        (f"Salesforce full run at {records} records: ≤ {GOAL_LARGE_REST_CALLS} REST calls",
         f"{full['rest_calls']} REST calls; Bulk: {full['bulk_calls']:,} calls, {full['bulk_jobs']} jobs, "
         f"{full['bulk_polls']} polls", full["rest_calls"] <= GOAL_LARGE_REST_CALLS),
        (f"… ≥ {GOAL_LARGE_RATE:,} records/s end to end, emulator included",
         f"{full['records_per_second']:,} records/s ({full['seconds']} s)",
         full["records_per_second"] >= GOAL_LARGE_RATE),
        (f"… peak memory ≤ {GOAL_MB:.0f} MB", f"{full['peak_rss_mb']} MB", full["peak_rss_mb"] <= GOAL_MB),
        (f"audit ≤ {GOAL_AUDIT_BYTES:.0f} bytes per record in SQLite ({sf['store_records']:,} records)",
         f"{sf['store_bytes_per_record']} bytes", sf["store_bytes_per_record"] <= GOAL_AUDIT_BYTES),
        (f"ordinary run after 1 % edited ≤ {GOAL_INCREMENTAL:.0%} of a full run's calls ({large['contacts']:,}"
         " contacts, both CRMs)", ", ".join(f"{crm} {share:.1%}" for crm, share in shares.items()),
         worst <= GOAL_INCREMENTAL),
    ]  # fmt: skip


def large_markdown(large: dict[str, Any]) -> list[str]:
    """The large-org section: goals, then the runs beside the REST figures from before."""
    sf = large["salesforce"]
    full, inc = sf["salesforce_full_bulk"], sf["salesforce_incremental"]
    hs = large["hubspot"]
    lines = ["", f"## A large org: {large['contacts']:,} contacts per CRM", "",
             "Salesforce with Bulk API 2.0 above `bulk_threshold` (`bench_bulk.py --incremental`), HubSpot with its "
             "limits off (`bench_sync.py --no-rate-limit`). REST calls are those counted against the daily API "
             "limit; Bulk API 2.0 requests (job creation, polls, results, uploads) are counted apart. "
             f"Bulk from {sf['bulk_threshold']:,} records a pull and {sf.get('bulk_write_threshold', sf['bulk_threshold']):,} "
             "changes a run; the machine's time for a fixed Python loop (`cpu_calibration_s`, lower is faster): "
             f"{sf.get('cpu_calibration_s', '–')} s.",
             *(["", large["note"]] if large.get("note") else []), "",
             "| goal | measured | met |", "|---|---|---|"]  # fmt: skip
    lines += [
        f"| {goal} | {where} | {'yes' if met else '**no**'} |" for goal, where, met in large_goals(large)
    ]
    b = BEFORE_BULK
    lines += ["", "| run | records | REST calls | Bulk calls | seconds | records/s | peak MB | store bytes per record |",
              "|---|---|---|---|---|---|---|---|",
              f"| Salesforce full, REST only, before (2026-11-28) | {b['records']:,} | {b['rest_calls']:,} | – "
              f"| {b['seconds']} | {b['records_per_second']:,} | {b['peak_rss_mb']} | about {b['store_bytes_per_record']:,} |",
              f"| Salesforce full, Bulk API 2.0 | {full['records']:,} | {full['rest_calls']:,} | {full['bulk_calls']:,} "
              f"| {full['seconds']} | {full['records_per_second']:,} | {full['peak_rss_mb']} | {sf['store_bytes_per_record']} |",
              f"| Salesforce ordinary, {inc['edited']:,} edited | {inc['records']:,} | {inc['rest_calls']:,} "
              f"| {inc['bulk_calls']:,} | {inc['seconds']} | – | {inc['peak_rss_mb']} | |",
              f"| HubSpot full | {hs['full']['records']:,} | {hs['full']['api_calls']:,} | – | {hs['full']['seconds']} "
              f"| {hs['full']['records_per_second']:,} | {hs['full']['peak_rss_mb']} | |",
              f"| HubSpot ordinary, {hs['incremental']['edited']:,} edited | {hs['incremental']['records']:,} "
              f"| {hs['incremental']['api_calls']:,} | – | {hs['incremental']['seconds']} | – "
              f"| {hs['incremental']['peak_rss_mb']} | |"]  # fmt: skip
    transfers = full.get("transfers", [])
    if transfers:
        lines += ["", "The run summary's transfer choices:", "", *(f"- {line}" for line in transfers)]
    return lines


def goals(results: dict[str, Any]) -> list[tuple[str, str, bool]]:
    """Each goal of the performance issue: what it asks, where it stands, met or not."""
    compared, rows = results["compared"], results["scale"]
    largest = str(max(int(size) for size in compared))
    at_largest, size = compared[largest], f"{int(largest):,}"
    worst_floor = max(at_largest[crm]["lawful_crm"]["full"]["calls_vs_floor"] for crm in CRMS)
    least_gain = min(at_largest[crm]["full_calls_baseline_over_lawful_crm"] for crm in CRMS)
    share = max(at_largest[crm]["lawful_crm"]["incremental_calls_share_of_full"] for crm in CRMS)
    hubspot = compared[largest]["hubspot"]["lawful_crm"]["full"]
    peaks = [row["peak_rss_mb"] for row in rows if "peak_rss_mb" in row]
    peaks += [c[crm]["lawful_crm"][run]["peak_rss_mb"] for c in compared.values() for crm in CRMS
              for run in ("full", "incremental")]  # fmt: skip
    failed = sum(c[crm]["lawful_crm"][run]["failed"] for c in compared.values() for crm in CRMS
                 for run in ("full", "incremental"))  # fmt: skip
    return [
        (f"API calls per full run ≤ {GOAL_FLOOR} × the floor ({size} contacts)", f"worst {worst_floor}×",
         worst_floor <= GOAL_FLOOR),
        (f"≥ {GOAL_BASELINE:.0f} × fewer calls than the baseline, full run ({size} contacts)",
         f"least {least_gain}×", least_gain >= GOAL_BASELINE),
        (f"incremental after 1 % ≤ {GOAL_INCREMENTAL:.0%} of a full run's calls ({size} contacts)",
         f"worst {share:.1%}", share <= GOAL_INCREMENTAL),
        (f"HubSpot {size} contacts at 190/10 s: wall time ≤ {GOAL_RATE} × the floor",
         f"{hubspot['seconds']} s against {hubspot['floor_seconds']} s ({hubspot['seconds_vs_floor']}×)",
         hubspot["seconds_vs_floor"] <= GOAL_RATE),
        ("no request refused without recovery", f"{failed} records failed in lawful-crm runs", failed == 0),
        (f"peak memory ≤ {GOAL_MB:.0f} MB at any size", f"{min(peaks)}–{max(peaks)} MB", max(peaks) <= GOAL_MB),
    ]  # fmt: skip


def markdown(results: dict[str, Any]) -> str:
    """docs/performance.md from the results."""
    lines = [
        "# Performance",
        "",
        "lawful-crm against the script an admin would otherwise write (`benchmarks/baseline_naive.py`: read every",
        "record with the SDK, one update call per changed record), on the sandbox with the real SDKs over loopback",
        "HTTP. Reproduce with `python benchmarks/run_all.py` (this file and `benchmarks/results/latest.json` are",
        "its output). Both tools make the same decisions with the same policy; only their I/O differs.",
        "",
        f"Measured {results['measured_at']} on {results['machine']}. Wall times include the emulator, which shares",
        "the machine's cores with the tool. Floor: the fewest calls the APIs allow (SOQL pages of 2,000 and 200",
        "per collection write; HubSpot search pages of 200, 100 per batch read and batch write).",
        "",
        "## Goals",
        "",
        "| goal | measured | met |",
        "|---|---|---|",
    ]
    lines += [f"| {goal} | {where} | {'yes' if met else '**no**'} |" for goal, where, met in goals(results)]
    lines += [f"| {goal} | {where} | {met} |" for goal, where, met in results.get("other_goals", [])]
    lines += ["", "## Full first run", "",
              "| contacts | CRM | records | lawful-crm calls | floor | × floor | baseline calls | baseline ÷ lawful-crm "
              "| lawful-crm s | baseline s | lawful-crm MB | baseline MB |",
              "|---|---|---|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for size, compared in results["compared"].items():
        for crm in CRMS:
            c = compared[crm]
            ours, naive = c["lawful_crm"]["full"], c["baseline"]["full"]
            naive_s = f"{naive['seconds']}"
            if "seconds_at_rate_limit" in naive:
                naive_s += f" (≥ {naive['seconds_at_rate_limit']:.0f} at 190/10 s)"
            lines.append(
                f"| {int(size):,} | {crm} | {ours['records']:,} | {ours['api_calls']:,} | {ours['floor_calls']:,} "
                f"| {ours['calls_vs_floor']} | {naive['api_calls']:,} | {c['full_calls_baseline_over_lawful_crm']}× "
                f"| {ours['seconds']} | {naive_s} | {ours['peak_rss_mb']} | {naive['peak_rss_mb']} |"
            )
    lines += ["", "## Incremental run after 1 % of the records were edited", "",
              "| contacts | CRM | edited | lawful-crm read | written | calls | share of full run | baseline calls "
              "| baseline ÷ lawful-crm | lawful-crm s | baseline s |",
              "|---|---|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for size, compared in results["compared"].items():
        for crm in CRMS:
            c = compared[crm]
            ours, naive = c["lawful_crm"]["incremental"], c["baseline"]["incremental"]
            lines.append(
                f"| {int(size):,} | {crm} | {ours['edited']:,} | {ours['records']:,} | {ours['written']:,} "
                f"| {ours['api_calls']} | {c['lawful_crm']['incremental_calls_share_of_full']:.1%} "
                f"| {naive['api_calls']:,} | {c['incremental_calls_baseline_over_lawful_crm']}× | {ours['seconds']} "
                f"| {naive['seconds']} |"
            )
    lines += ["", "## Scale: lawful-crm alone, HubSpot rate limit off", "",
              "| contacts per CRM | CRM | records | calls | × floor | full run s | records/s | incremental calls "
              "| incremental s |", "|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for row in results["scale"]:
        if row["crm"] == "both":
            lines.append(
                f"| {row['contacts']:,} | peak memory of the whole run | | | | | | | {row['peak_rss_mb']} MB |"
            )
            continue
        lines.append(
            f"| {row['contacts']:,} | {row['crm']} | {row['records']:,} | {row['api_calls']:,} "
            f"| {row['calls_vs_floor']} | {row['seconds']} | {row['records_per_second']:,} "
            f"| {row['incremental_calls']} | {row['incremental_seconds']} |"
        )
    if "large" in results:
        lines += large_markdown(results["large"])
    lines += ["", results.get("notes", "").strip(), ""]
    lines += [
        "See also [catching up without an edit](performance-catch-up.md): the cost of records due by date and of"
        " a policy change (`benchmarks/bench_catch_up.py`).",
        "",
    ]
    return "\n".join(lines).rstrip() + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[10_000, 100_000])
    parser.add_argument("--scale", type=int, nargs="*", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--large", type=int, default=1_000_000, help="contacts per CRM of the large org")
    parser.add_argument("--only-large", action="store_true", help="run only the large org; keep the rest")
    parser.add_argument("--notes", type=Path, help="a markdown file appended to docs/performance.md")
    parser.add_argument("--no-write", action="store_true", help="print only; keep the committed results")
    parser.add_argument(
        "--render", action="store_true", help="only write docs/performance.md from latest.json"
    )
    parser.add_argument(
        "--resume", action="store_true", help="reuse the runs an interrupted invocation finished"
    )
    args = parser.parse_args()
    if args.resume and PARTIAL.exists():
        _done.update(json.loads(PARTIAL.read_text(encoding="utf-8")))
    if args.render:
        results = json.loads(RESULTS.read_text(encoding="utf-8"))
        if args.notes is not None:
            results["notes"] = args.notes.read_text(encoding="utf-8")
            RESULTS.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
        REPORT.write_text(markdown(results), encoding="utf-8")
        return
    if args.only_large:
        results = json.loads(RESULTS.read_text(encoding="utf-8"))
        results["large"] = large_org(args.large)
    else:
        results = {
            "measured_at": datetime.now(UTC).strftime("%Y-%m-%d"),
            "machine": f"{os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()}",
            "compared": {str(size): compare(size) for size in args.sizes},
            "scale": scale(args.scale),
            "large": large_org(args.large),
        }
    if args.notes is not None:
        results["notes"] = args.notes.read_text(encoding="utf-8")
    PARTIAL.unlink(missing_ok=True)
    if not args.no_write:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
        REPORT.write_text(markdown(results), encoding="utf-8")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
