"""Do-not-call registers: import rate, lookup rate through ``screen()``, store size and memory during import.

Generates a UK register file of N distinct numbers (national digits, E.164 and spaced, as register and CRM
exports write them), imports it into a fresh SQLite store, then screens pages of 2,000 records whose numbers
are half on the list. Prints one JSON object.

Usage: python benchmarks/bench_dnc.py [--numbers N] [--lookups N] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from connector.dnc.keys import KeySource
from connector.dnc.registers import DncRegisters
from connector.models import RegisterList
from connector.store import open_store
from connector.sync.screening import PhonesToScreen

AS_OF = date(2026, 11, 20)
PAGE = 2_000
_LONDON = ("7", "3", "8")


def national(i: int) -> str:
    """The i-th distinct valid London number, national digits (``020`` + one of 7/3/8 + 7 digits)."""
    block, rest = divmod(i, 10_000_000)
    return f"020{_LONDON[block]}{rest:07d}"


def written(i: int) -> str:
    digits = national(i)
    shape = i % 10
    if shape < 6:
        return digits
    if shape < 9:
        return "+44" + digits[1:]
    return f"{digits[:3]} {digits[3:7]} {digits[7:]}"


def write_list(path: Path, count: int) -> None:
    with open(path, "w", encoding="utf-8") as out:
        out.write("# UK TPS full file (synthetic)\n")
        for start in range(0, count, 100_000):
            out.write("".join(written(i) + "\n" for i in range(start, min(count, start + 100_000))))


def rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def store_bytes(db: Path) -> int:
    return sum(p.stat().st_size for p in db.parent.glob(db.name + "*"))


def bench(count: int, lookups: int, workdir: Path) -> dict[str, object]:
    listing = workdir / "uk_tps.txt"
    write_list(listing, count)
    db = workdir / "store.db"
    store = open_store(f"sqlite:///{db}")
    registers = DncRegisters(store, key=KeySource(file=workdir / "dnc.key"), today=lambda: date(2026, 11, 28))
    samples: list[float] = []

    def progress(stage: str, done: int) -> None:
        samples.append(rss_mb())

    rss_before, peak_before = rss_mb(), peak_rss_mb()
    report = registers.import_list(RegisterList.UK_TPS, listing, AS_OF, progress=progress)
    assert report.ok and report.stored == count, report
    import_rate = count / report.elapsed_s
    peak_after = peak_rss_mb()

    rng = random.Random(1)
    pages = []
    for start in range(0, lookups, PAGE):
        page = {}
        for j in range(start, min(lookups, start + PAGE)):
            i = rng.randrange(count * 2)  # half of them beyond the list: not listed
            digits = national(i % 30_000_000)
            page[f"003{j:012d}"] = PhonesToScreen([f"+44 {digits[1:3]} {digits[3:7]} {digits[7:]}"], "GB")
        pages.append(page)
    start_time = time.perf_counter()
    listed = 0
    for page in pages:
        found = registers.screen(page)
        listed += sum(1 for screenings in found.values() if screenings[0].listed)
    lookup_s = time.perf_counter() - start_time
    with store.engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    return {
        "numbers": count,
        "import_s": round(report.elapsed_s, 2),
        "import_numbers_per_s": round(import_rate),
        "lookups": lookups,
        "lookup_numbers_per_s": round(lookups / lookup_s),
        "lookups_listed_share": round(listed / lookups, 3),
        "store_mb": round(store_bytes(db) / 2**20, 1),
        "store_bytes_per_number": round(store_bytes(db) / count, 1),
        "rss_mb_before_import": round(rss_before, 1),
        "rss_mb_during_import": [round(min(samples), 1), round(max(samples), 1)] if samples else None,
        "peak_rss_mb_import": round(max(peak_after, peak_before), 1),
        "python": sys.version.split()[0],
        "cpus": os.cpu_count(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--numbers", type=int, default=5_000_000)
    parser.add_argument("--lookups", type=int, default=200_000)
    parser.add_argument("--keep", type=Path, help="Work in this directory and keep the files.")
    args = parser.parse_args()
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
        print(json.dumps(bench(args.numbers, args.lookups, args.keep)))
        return
    with tempfile.TemporaryDirectory(prefix="bench_dnc_") as tmp:
        print(json.dumps(bench(args.numbers, args.lookups, Path(tmp))))


if __name__ == "__main__":
    main()
