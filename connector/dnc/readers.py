"""Read a list file as (line number, text) pairs, streaming, whatever its common shape.

Shapes: one number per line, or CSV with a number column (``,`` ``;`` tab or ``|``), with or without a header.
The column is named with ``column`` or found by its header (number, phone, telephone, telefoonnummer, numéro,
nummer …); a headerless CSV is read from its first column. A byte-order mark, blank lines and ``#`` comment
lines are skipped (and counted). Every other line is yielded, even when it holds no number, so the importer can
count and report it by line number: nothing is silently dropped. Bytes that are not UTF-8 are replaced, so a
binary or wrongly encoded file yields garbage lines instead of a crash.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

__all__ = ["ListFileError", "ListReader", "open_list_file", "read_numbers"]

_DELIMITERS = (",", ";", "\t", "|")
_NUMBER_HEADERS = (
    "number",
    "phone",
    "phonenumber",
    "telephone",
    "telephonenumber",
    "tel",
    "telefoon",
    "telefoonnummer",
    "telefon",
    "telefonnummer",
    "numero",
    "numerodetelephone",
    "nummer",
    "mobile",
    "mobiel",
    "gsm",
    "msisdn",
    "e164",
)
_HEADER_HINTS = ("phone", "tel", "num", "mobile", "msisdn")
_NOT_ALNUM = re.compile(r"[^0-9a-z]")


class ListFileError(ValueError):
    """The file's shape cannot be read (no number column, unknown column name). Names headers, never data."""


def _header_key(cell: str) -> str:
    folded = unicodedata.normalize("NFKD", cell.strip().strip('"').casefold())
    return _NOT_ALNUM.sub("", "".join(c for c in folded if not unicodedata.combining(c)))


def _number_column(cells: list[str], wanted: str | None) -> int | None:
    """The index of the number column in a header row, or None when the row is no header we recognise."""
    keys = [_header_key(cell) for cell in cells]
    if wanted is not None:
        key = _header_key(wanted)
        return keys.index(key) if key in keys else None
    for name in _NUMBER_HEADERS:
        if name in keys:
            return keys.index(name)
    for index, key in enumerate(keys):
        if key and any(hint in key for hint in _HEADER_HINTS):
            return index
    return None


def _delimiter(line: str) -> str | None:
    counts = {d: line.count(d) for d in _DELIMITERS}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else None


def _split(line: str, delimiter: str) -> list[str]:
    if '"' not in line:
        return line.split(delimiter)
    return next(csv.reader((line,), delimiter=delimiter), [])


@dataclass
class ListReader:
    """Iterates ``(line_no, text)`` over one open file; ``skipped`` counts blank and comment lines after it."""

    handle: IO[str]
    column: str | None = None
    skipped: int = 0
    shape: str = field(default="lines", init=False)

    def __iter__(self) -> Iterator[tuple[int, str]]:
        lines = enumerate(self.handle, start=1)
        for line_no, raw in lines:
            line = raw.strip()
            if not line or line.startswith("#"):
                self.skipped += 1
                continue
            yield from self._from_first(line_no, line, lines)
            return

    def _from_first(
        self, line_no: int, first: str, rest: Iterator[tuple[int, str]]
    ) -> Iterator[tuple[int, str]]:
        delimiter = _delimiter(first)
        cells = _split(first, delimiter) if delimiter else [first]
        index = _number_column(cells, self.column)
        if index is None and self.column is not None:
            raise ListFileError(f"no column named {self.column!r} in the file's first line")
        if delimiter is None:
            self.shape = "lines"
            if index is None:
                yield line_no, first
            yield from self._lines(rest)
            return
        self.shape = "csv"
        if index is None:
            if not any(c.isdigit() for c in first):
                raise ListFileError("the header names no number column; name it with --column")
            yield line_no, cells[0]
            index = 0
        yield from self._cells(rest, delimiter, index)

    def _lines(self, rest: Iterator[tuple[int, str]]) -> Iterator[tuple[int, str]]:
        for line_no, raw in rest:
            line = raw.strip()
            if not line or line.startswith("#"):
                self.skipped += 1
                continue
            yield line_no, line

    def _cells(
        self, rest: Iterator[tuple[int, str]], delimiter: str, index: int
    ) -> Iterator[tuple[int, str]]:
        for line_no, raw in rest:
            line = raw.strip()
            if not line or line.startswith("#"):
                self.skipped += 1
                continue
            cells = _split(line, delimiter)
            yield line_no, cells[index] if index < len(cells) else ""


def open_list_file(path: Path) -> IO[str]:
    """Open a list file for ``ListReader``: UTF-8 with or without a byte-order mark, bad bytes replaced."""
    return open(path, encoding="utf-8-sig", errors="replace", newline="")


def read_numbers(path: Path, column: str | None = None) -> Iterator[tuple[int, str]]:
    """Every data line of ``path`` as ``(line_no, text of the number cell)``; see the module docstring."""
    with open_list_file(path) as handle:
        yield from ListReader(handle, column)
