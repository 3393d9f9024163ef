"""Classify ContactFacts JSON lines: the streaming shell behind ``lawful-crm classify`` and ``explain``.

One line in, one result out, same order. A line that is not valid JSON or not valid ContactFacts becomes an error
object for that line; the others are still classified. Error texts name the field and the problem, never the
value given, so personal data in a bad line does not reach stderr or a log.

No line can crash or stall a batch. Input is read as bytes, one line at a time: invalid UTF-8, a line longer than
``MAX_LINE_BYTES`` (dropped in small chunks without being parsed, so memory stays flat), JSON nested too deeply,
a lone surrogate escape such as ``"\\ud800"``, and a key given twice in one object (the last one must not silently
win) each become that line's error. A UTF-8 byte-order mark before the first line is dropped. Lines end at
``\\n`` (a ``\\r`` before it is dropped); blank lines are skipped.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import IO, Any, NamedTuple

from pydantic import TypeAdapter, ValidationError

from connector.models import ContactFacts, Decision, RecordId
from connector.policy import PolicySettings, evaluate

__all__ = [
    "MAX_LINE_BYTES",
    "Classified",
    "LineError",
    "LineResult",
    "classify_lines",
    "classify_stream",
    "describe_validation_error",
    "parse_line",
    "read_lines",
    "write_decisions",
]

MAX_LINE_BYTES = 1 << 20
"""A longer line is refused before parsing: no ContactFacts comes near it, and parsing it would cost memory."""

_BOM = b"\xef\xbb\xbf"
_SKIP_CHUNK = 1 << 16
_MAX_PROBLEMS = 5
_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}", re.ASCII)
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_RECORD_ID: TypeAdapter[str] = TypeAdapter(RecordId)


@dataclass(frozen=True, slots=True)
class LineError:
    """A line that could not be classified: its number, the record id when readable, and what is wrong."""

    line_no: int
    id: str | None
    error: str

    def to_json(self) -> str:
        return json.dumps({"id": self.id, "error": self.error}, ensure_ascii=False)


LineResult = Decision | LineError


class Classified(NamedTuple):
    """One non-blank input line: its number, its facts when they were valid, and the Decision or the error."""

    line_no: int
    facts: ContactFacts | None
    result: LineResult


class _Refused(ValueError):
    """A line refused while parsing; the message names no input value."""


def _safe_key(key: object) -> str:
    """A key or path part fit for an error message: a list index or an identifier-like name, else a placeholder
    (an arbitrary key could carry personal data, control characters or a megabyte of text)."""
    if isinstance(key, int) or (isinstance(key, str) and _KEY.fullmatch(key)):
        return str(key)
    return "<key>"


def describe_validation_error(exc: ValidationError) -> str:
    """A one-line summary of the problems: field path and message, without the offending input."""
    errors = exc.errors(include_input=False, include_url=False, include_context=False)
    problems = [
        f"{'.'.join(_safe_key(part) for part in err['loc']) or 'record'}: {err['msg']}"
        for err in errors[:_MAX_PROBLEMS]
    ]
    if len(errors) > _MAX_PROBLEMS:
        problems.append(f"and {len(errors) - _MAX_PROBLEMS} more problems")
    return "; ".join(problems)


def read_lines(stream: IO[bytes]) -> Iterator[tuple[int, bytes | None]]:
    """Yield ``(line number, line)`` for every line of a binary stream, without its line ending (and on the first
    line without a UTF-8 byte-order mark). A line over ``MAX_LINE_BYTES`` is yielded as None after its bytes
    were read and dropped in small chunks: it is never held in memory."""
    line_no = 0
    while chunk := stream.readline(MAX_LINE_BYTES + 1):
        line_no += 1
        if len(chunk) > MAX_LINE_BYTES and not chunk.endswith(b"\n"):
            while (rest := stream.readline(_SKIP_CHUNK)) and not rest.endswith(b"\n"):
                pass
            yield line_no, None
            continue
        line = chunk.removesuffix(b"\n").removesuffix(b"\r")
        yield line_no, line.removeprefix(_BOM) if line_no == 1 else line


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """Build a JSON object, refusing a key given twice: which value would win is not for us to guess."""
    obj = dict(pairs)
    if len(obj) < len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _Refused(f"{_safe_key(key)}: the key appears more than once in one object")
            seen.add(key)
    return obj


def _no_constant(name: str) -> Any:
    raise _Refused("Invalid JSON: NaN and Infinity are not JSON numbers")


def _has_surrogate(value: Any) -> bool:
    """Whether any key or string in a parsed JSON value holds a lone surrogate (iterative: depth is unbounded)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if _SURROGATE.search(item):
                return True
        elif isinstance(item, dict):
            stack.extend(item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def _readable_id(value: Any) -> str | None:
    """The line's id for its error object, when it is one ContactFacts would accept."""
    record_id = value.get("id") if isinstance(value, dict) else None
    try:
        return _RECORD_ID.validate_python(record_id) if isinstance(record_id, str) else None
    except ValidationError:
        return None


def parse_line(line_no: int, line: bytes | None) -> ContactFacts | LineError:
    """Validate one line (None: too long) as ContactFacts, or say what is wrong without repeating its content."""
    if line is None:
        return LineError(line_no, None, "the line is longer than 1 MiB; refused without parsing")
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError:
        return LineError(line_no, None, "the line is not valid UTF-8")
    try:
        value = json.loads(text, object_pairs_hook=_unique_keys, parse_constant=_no_constant)
    except _Refused as exc:
        return LineError(line_no, None, str(exc))
    except json.JSONDecodeError as exc:
        return LineError(line_no, None, f"Invalid JSON: {exc.msg} at column {exc.colno}")
    except RecursionError:
        return LineError(line_no, None, "Invalid JSON: nested too deeply")
    except ValueError:  # an integer of thousands of digits
        return LineError(line_no, None, "Invalid JSON: a number has too many digits")
    if "\\u" in text and _has_surrogate(value):
        return LineError(line_no, None, "Invalid JSON: a \\u escape is a lone surrogate, not a character")
    try:
        return ContactFacts.model_validate(value)
    except ValidationError as exc:
        return LineError(line_no, _readable_id(value), describe_validation_error(exc))


def _decide(line_no: int, facts: ContactFacts, *, now: date, settings: PolicySettings) -> LineResult:
    try:
        return evaluate(facts, now=now, settings=settings)
    except Exception as exc:  # one record never stops a batch; the type names the fault, not the data
        return LineError(line_no, facts.id, f"internal error while deciding ({type(exc).__name__})")


def _classify(line_no: int, line: bytes | None, *, now: date, settings: PolicySettings) -> Classified:
    parsed = parse_line(line_no, line)
    if isinstance(parsed, LineError):
        return Classified(line_no, None, parsed)
    return Classified(line_no, parsed, _decide(line_no, parsed, now=now, settings=settings))


def classify_stream(stream: IO[bytes], *, now: date, settings: PolicySettings) -> Iterator[Classified]:
    """Classify every non-blank line of a binary stream, in input order, reading one line at a time."""
    for line_no, line in read_lines(stream):
        if line is None or line.strip():
            yield _classify(line_no, line, now=now, settings=settings)


def classify_lines(
    lines: Iterable[str], *, now: date, settings: PolicySettings
) -> Iterator[tuple[int, LineResult]]:
    """Yield ``(line number, Decision or LineError)`` for every non-blank line of text already in memory."""
    for line_no, text in enumerate(lines, start=1):
        line = text.encode("utf-8", "surrogatepass").removesuffix(b"\n").removesuffix(b"\r")
        line = line.removeprefix(_BOM) if line_no == 1 else line
        if line.strip():
            fits = len(line) <= MAX_LINE_BYTES
            yield line_no, _classify(line_no, line if fits else None, now=now, settings=settings).result


def write_decisions(
    stream: IO[bytes], out: IO[bytes], errors: IO[str], *, now: date, settings: PolicySettings
) -> int:
    """``lawful-crm classify``: one JSON line on ``out`` per non-blank input line (a Decision or ``{id, error}``),
    a ``line N: problem`` message on ``errors`` per bad line; return the number of bad lines."""
    failed = 0
    for item in classify_stream(stream, now=now, settings=settings):
        if isinstance(item.result, LineError):
            failed += 1
            errors.write(f"line {item.line_no}: {item.result.error}\n")
            out.write(item.result.to_json().encode() + b"\n")
        else:
            out.write(item.result.model_dump_json().encode() + b"\n")
    out.flush()
    return failed
