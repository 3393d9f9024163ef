"""Classify ContactFacts JSON lines: the streaming shell behind ``lawful-crm classify`` and ``explain``.

One line in, one result out, same order. A line that is not valid JSON or not valid ContactFacts becomes an error
object for that line; the others are still classified. Error texts name the field and the problem, never the
value given, so personal data in a bad line does not reach stderr or a log.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date

from pydantic import ValidationError

from connector.models import ContactFacts, Decision
from connector.policy import PolicySettings, evaluate

__all__ = ["LineError", "LineResult", "classify_lines", "describe_validation_error"]


@dataclass(frozen=True, slots=True)
class LineError:
    """A line that could not be classified: its number, the record id when readable, and what is wrong."""

    line_no: int
    id: str | None
    error: str

    def to_json(self) -> str:
        return json.dumps({"id": self.id, "error": self.error}, ensure_ascii=False)


LineResult = Decision | LineError


def describe_validation_error(exc: ValidationError) -> str:
    """A one-line summary of every problem: field path and message, without the offending input."""
    problems = []
    for err in exc.errors(include_input=False, include_url=False, include_context=False):
        where = ".".join(str(part) for part in err["loc"]) or "record"
        problems.append(f"{where}: {err['msg']}")
    return "; ".join(problems)


def _record_id(line: str) -> str | None:
    try:
        value = json.loads(line)
    except ValueError:
        return None
    record_id = value.get("id") if isinstance(value, dict) else None
    return record_id if isinstance(record_id, str) else None


def classify_lines(
    lines: Iterable[str], *, now: date, settings: PolicySettings
) -> Iterator[tuple[int, LineResult]]:
    """Yield ``(line number, Decision or LineError)`` for every non-blank line, in input order."""
    for line_no, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            facts = ContactFacts.model_validate_json(line)
        except ValidationError as exc:
            yield line_no, LineError(line_no, _record_id(line), describe_validation_error(exc))
            continue
        yield line_no, evaluate(facts, now=now, settings=settings)
