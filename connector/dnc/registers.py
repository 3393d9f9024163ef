"""``DncRegisters``: the do-not-call lists of one store, and the pipeline's PhoneScreener.

The shell around the pure parts: it reads list files (``readers``), normalises and hashes each number
(``normalise``, ``hashing``), keeps the lists in the store (``store``) and turns lookups into Screenings
(``screenings``). A national register is replaced atomically by each import; the own list is edited in place.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import Engine

from connector.dnc.hashing import NumberHasher
from connector.dnc.keys import KeySource, rotate, unlock
from connector.dnc.lists import LISTS, lists_for_calling_code
from connector.dnc.normalise import (
    E164,
    InvalidNumberError,
    Rejected,
    Rejection,
    has_letters,
    normalise,
    region_code,
)
from connector.dnc.readers import ListFileError, ListReader, open_list_file
from connector.dnc.reports import (
    CheckResult,
    FileTally,
    ImportOutcome,
    ImportReport,
    ListStatus,
    import_report,
    list_status,
    refusal,
)
from connector.dnc.screenings import Wanted, combine
from connector.dnc.staging import StagedImport
from connector.dnc.store import CurrentList, DncStore
from connector.files import FileRefusedError, check_regular_file
from connector.models import RegisterList, Screening
from connector.store import Store
from connector.sync.screening import HashedNumber, PhonesToScreen

__all__ = ["DEFAULT_MAX_REJECTED_SHARE", "DncRegisters", "Progress", "register_statuses"]

DEFAULT_MAX_REJECTED_SHARE = 0.1
LIST_FILE_LIMIT = 8 * 1024**3
"""A national register of tens of millions of numbers is a few gigabytes at most."""
_BATCH = 20_000

Progress = Callable[[str, int], None]
"""Told ``("read", lines)`` while a file is read and ``("stored", numbers)`` while they are stored."""


def _utc_now() -> datetime:
    return datetime.now(UTC)


class DncRegisters:
    """Import, status, check and own-list edits, and ``screen`` for ``connector.sync.pipeline.Pipeline``."""

    def __init__(
        self,
        store: Store | Engine,
        *,
        key: KeySource,
        clock: Callable[[], datetime] = _utc_now,
        today: Callable[[], date] = date.today,
    ) -> None:
        self._store = DncStore(store if isinstance(store, Engine) else store.engine)
        self._key = key
        self._clock = clock
        self._today = today
        self._hasher: NumberHasher | None = None

    def unlock(self) -> None:
        """Read and check the hash key now (creating it on first need): a missing or wrong key stops a command
        before it starts (``keys.DncKeyError``), not in the middle of a run."""
        self._hash()

    def rotate_key(self) -> None:
        """Delete every hash made with the current key and start over with a new one (``keys.rotate``)."""
        self._hasher = None
        rotate(self._store, self._key, now=self._clock())

    def _hash(self) -> NumberHasher:
        if self._hasher is None:
            self._hasher = NumberHasher(unlock(self._store, self._key, now=self._clock()))
        return self._hasher

    def import_list(
        self,
        register: RegisterList,
        path: Path,
        as_of: date | None = None,
        column: str | None = None,
        *,
        country: str | None = None,
        max_rejected_share: float = DEFAULT_MAX_REJECTED_SHARE,
        progress: Progress | None = None,
    ) -> ImportReport:
        """Read ``path`` into ``register`` (replacing a national register, adding to the own list).

        ``country`` reads national-format numbers of the own list (the registers know their country). A file
        with no valid number, or with more than ``max_rejected_share`` of lines that are none, changes nothing.
        Raises ``ListFileError`` when the file's shape cannot be read and ``OSError`` when it cannot be opened.
        """
        spec = LISTS[register]
        try:
            check_regular_file(path, limit_bytes=LIST_FILE_LIMIT, what="list file")
        except FileRefusedError as refused:
            raise ListFileError(str(refused)) from None
        as_of = as_of or self._today()
        started = time.monotonic()
        before = self._store.current().get(register)
        with self._store.staged_import() as staged, open_list_file(path) as handle:
            region = spec.region or region_code(country)
            tally = self._stage(staged, ListReader(handle, column), region, spec.calling_code, progress)
            reason = refusal(tally.read, tally.rejected.count, max_rejected_share)
            if reason is not None:
                outcome, stored, message = ImportOutcome.REFUSED, 0, f"{reason}; the list in use is unchanged"
            elif not spec.replaced_on_import:
                stored = staged.merge_own(since=as_of, today=self._today(), now=self._clock())
                outcome, message = ImportOutcome.MERGED, None
            else:
                outcome, stored, message = self._replace(staged, register, as_of, before, progress)
        if outcome is ImportOutcome.REPLACED and before is not None:
            self._store.delete_version(before.version_id, rows=before.size)
        previous = before.as_of if before is not None and spec.replaced_on_import else None
        elapsed = time.monotonic() - started
        return import_report(
            register,
            as_of,
            outcome,
            tally,
            stored=stored,
            elapsed_s=elapsed,
            previous=previous,
            message=message,
        )

    def _stage(
        self,
        staged: StagedImport,
        reader: ListReader,
        region: str | None,
        calling_code: int | None,
        progress: Progress | None,
    ) -> FileTally:
        """Normalise, check and hash every line into the staging table; count and remember the rejected."""
        hasher = self._hash()
        tally = FileTally()
        rejected = tally.rejected
        batch: list[bytes] = []
        read = 0
        for line_no, text in reader:
            read += 1
            number = Rejected(Rejection.NOT_A_NUMBER) if has_letters(text) else normalise(text, region)
            if isinstance(number, Rejected):
                rejected.add(line_no, number.reason)
            elif calling_code is not None and number.calling_code != calling_code:
                rejected.add(line_no, Rejection.WRONG_COUNTRY)
            else:
                batch.append(hasher(number.number))
                if len(batch) >= _BATCH:
                    staged.add(batch)
                    batch = []
                    if progress is not None:
                        progress("read", read)
        staged.add(batch)
        if progress is not None:
            progress("read", read)
        tally.read, tally.skipped = read, reader.skipped
        return tally

    def _replace(
        self,
        staged: StagedImport,
        register: RegisterList,
        as_of: date,
        before: CurrentList | None,
        progress: Progress | None,
    ) -> tuple[ImportOutcome, int, str | None]:
        """Copy the staged numbers into a new version of ``register`` and switch to it, unless another import
        switched the list since this one started."""
        self._store.collect_garbage(now=self._clock())
        switched = staged.replace(
            register,
            as_of=as_of,
            expected=before.version_id if before else None,
            clock=self._clock,
            progress=(lambda n: progress("stored", n)) if progress is not None else None,
        )
        if switched is None:
            self._store.collect_garbage(now=self._clock())
            return (
                ImportOutcome.CONFLICT,
                0,
                "another import of this list finished first; this one was discarded",
            )
        return ImportOutcome.REPLACED, switched[1], None

    def status(self) -> list[ListStatus]:
        """Every list, imported or not, with its date, size and warnings (stale, never imported, legacy)."""
        return register_statuses(self._store, self._today())

    def check(self, number: str, country: str | None = None) -> CheckResult:
        """Screen one number by hand. Raises ``InvalidNumberError`` (reason only) when it is no valid number."""
        parsed = self._parse(number, country)
        screenings = self._screen([("check", self._hash()(parsed.number), parsed.calling_code)]).get(
            "check", ()
        )
        screened = {s.list for s in screenings}
        wanted = lists_for_calling_code(parsed.calling_code, LISTS)
        missing = tuple(r for r in wanted if r not in screened and r is not RegisterList.OWN)
        return CheckResult(parsed.number, screenings, missing)

    def add_own(self, number: str, country: str | None = None, since: date | None = None) -> bool:
        """Put a number on the own list (a person asked not to be called); False when it already was."""
        parsed = self._parse(number, country)
        today = self._today()
        return self._store.add_own(
            self._hash()(parsed.number), since=since or today, today=today, now=self._clock()
        )

    def remove_own(self, number: str, country: str | None = None) -> bool:
        """Take a number off the own list (the person consented again); False when it was not on it."""
        parsed = self._parse(number, country)
        return self._store.remove_own(self._hash()(parsed.number), today=self._today(), now=self._clock())

    def screen(self, records: Mapping[str, PhonesToScreen]) -> dict[str, tuple[Screening, ...]]:
        """Screenings per record for every imported list that applies to its valid numbers.

        Numbers that are no valid number are left out (the mapping has already flagged them). One query for the
        whole page, whatever its size up to 30,000 distinct numbers.
        """
        return self.screen_numbers(self.numbers(records))

    def numbers(self, records: Mapping[str, PhonesToScreen]) -> dict[str, tuple[HashedNumber, ...]]:
        """PhoneScreener: each record's valid numbers as keyed hashes with their calling codes."""
        hasher = self._hash()
        found: dict[str, tuple[HashedNumber, ...]] = {}
        for record_id, phones in records.items():
            hashed = []
            for text in phones.numbers:
                number = normalise(text, phones.country)
                if isinstance(number, E164):
                    hashed.append((hasher(number.number).hex(), number.calling_code))
            if hashed:
                found[record_id] = tuple(sorted(set(hashed)))
        return found

    def screen_numbers(
        self, records: Mapping[str, Sequence[HashedNumber]]
    ) -> dict[str, tuple[Screening, ...]]:
        """PhoneScreener: Screenings per record from hashed numbers (kept in the store; no number needed)."""
        wanted: list[Wanted] = [
            (record_id, bytes.fromhex(number_hash), calling_code)
            for record_id, numbers in records.items()
            for number_hash, calling_code in numbers
        ]
        return self._screen(wanted)

    def version(self) -> str:
        """PhoneScreener: the lists in use with their versions and last change, as one short token."""
        current = self._store.current()
        text = ";".join(
            f"{register.value}:{found.version_id}:{found.updated_at.isoformat()}"
            for register, found in sorted(current.items(), key=lambda item: item[0].value)
        )
        return hashlib.sha256(text.encode()).hexdigest()[:16] if text else "none"

    def _screen(self, wanted: list[Wanted]) -> dict[str, tuple[Screening, ...]]:
        if not wanted:
            return {}
        hits = self._store.lookup([number_hash for _, number_hash, _ in wanted])
        checked = dict(hits.as_of)
        if RegisterList.OWN in checked:
            checked[RegisterList.OWN] = self._today()
        return combine(wanted, checked=checked, listed=hits.listed)

    @staticmethod
    def _parse(number: str, country: str | None) -> E164:
        parsed = normalise(number, country)
        if isinstance(parsed, Rejected):
            raise InvalidNumberError(parsed.reason)
        return parsed


def register_statuses(store: DncStore, today: date) -> list[ListStatus]:
    """Every list's copy in the store, imported or not: its date, size, age and warnings (no key needed)."""
    current = store.current()
    statuses = []
    for register, spec in LISTS.items():
        found = current.get(register)
        statuses.append(
            list_status(
                spec,
                as_of=found.as_of if found else None,
                size=found.size if found else 0,
                updated_at=found.updated_at if found else None,
                today=today,
            )
        )
    return statuses
