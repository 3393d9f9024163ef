"""A parser for the SOQL subset a CRM connector uses; pure (no schema, no records).

Grammar: `SELECT item[, item...] | COUNT() FROM Object [WHERE cond] [GROUP BY path, ...] [ORDER BY path
[ASC|DESC] [NULLS FIRST|LAST], ...] [LIMIT n] [OFFSET n]`; an item is a field path or an aggregate
(COUNT, COUNT_DISTINCT, MAX, MIN, SUM, AVG of a path), with an optional alias in aggregate queries. Conditions
combine comparisons (= != <> < > <= >=), IN / NOT IN (a list or a semi-join sub-select), LIKE, AND / OR / NOT
and parentheses; literals are quoted strings, numbers, true / false / null, date and datetime literals and
TODAY / YESTERDAY / LAST_N_DAYS:n. Errors carry Salesforce's error codes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

_TOKEN = re.compile(
    r"""\s*(?:
    (?P<string>'(?:\\.|[^'\\])*')
    |(?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2}))
    |(?P<date>\d{4}-\d{2}-\d{2})
    |(?P<number>-?\d+(?:\.\d+)?)
    |(?P<op><=|>=|!=|<>|=|<|>)
    |(?P<punct>[(),])
    |(?P<word>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*(?::\d+)?)
    )""",
    re.VERBOSE,
)
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "'": "'", '"': '"', "\\": "\\"}


class SoqlError(Exception):
    """A query Salesforce would refuse; `code` is its errorCode (MALFORMED_QUERY, INVALID_FIELD, ...)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


@dataclass(frozen=True, slots=True)
class DateRange:
    """A relative date literal such as LAST_N_DAYS:30, as a half-open range of days [start, end)."""

    start: date
    end: date


@dataclass(frozen=True, slots=True)
class Compare:
    """`path op value`."""

    path: str
    op: str
    value: Any


@dataclass(frozen=True, slots=True)
class InList:
    """`path [NOT] IN (values)`."""

    path: str
    values: tuple[Any, ...]
    negate: bool


@dataclass(frozen=True, slots=True)
class InQuery:
    """`path [NOT] IN (SELECT ...)`: a semi-join (or anti-join)."""

    path: str
    query: Query
    negate: bool


@dataclass(frozen=True, slots=True)
class Like:
    """`path LIKE 'pattern'` with % and _ wildcards, case-insensitive."""

    path: str
    pattern: str


@dataclass(frozen=True, slots=True)
class BoolOp:
    """AND / OR over two or more conditions."""

    op: str
    items: tuple[Condition, ...]


@dataclass(frozen=True, slots=True)
class Not:
    """NOT condition."""

    item: Condition


Condition = Compare | InList | InQuery | Like | BoolOp | Not

AGGREGATE_FUNCTIONS = frozenset({"COUNT", "COUNT_DISTINCT", "MAX", "MIN", "SUM", "AVG"})


@dataclass(frozen=True, slots=True)
class Field:
    """A plain field path in a SELECT list; `alias` only in aggregate queries."""

    path: str
    alias: str | None = None


@dataclass(frozen=True, slots=True)
class Aggregate:
    """`FUNCTION(path) [alias]` in a SELECT list, e.g. `MAX(CloseDate)` or `COUNT(Id) n`."""

    function: str
    path: str
    alias: str | None = None


SelectItem = Field | Aggregate


@dataclass(frozen=True, slots=True)
class Order:
    """One ORDER BY item."""

    path: str
    descending: bool = False
    nulls_last: bool | None = None


@dataclass(frozen=True, slots=True)
class Query:
    """A parsed SELECT statement."""

    fields: tuple[str, ...]
    sobject: str
    where: Condition | None = None
    order: tuple[Order, ...] = ()
    limit: int | None = None
    offset: int | None = None
    count: bool = False
    extra: dict[str, Any] = field(default_factory=dict, compare=False)
    items: tuple[SelectItem, ...] = ()
    """The SELECT list in order, aggregates and aliases included (`fields` holds the plain paths only)."""
    group_by: tuple[str, ...] = ()

    @property
    def aggregates(self) -> tuple[Aggregate, ...]:
        """The aggregate items of the SELECT list."""
        return tuple(item for item in self.items if isinstance(item, Aggregate))

    @property
    def grouped(self) -> bool:
        """Whether the query answers AggregateResult rows (aggregates or GROUP BY) instead of records."""
        return bool(self.group_by or self.aggregates)


def parse(text: str, *, today: date | None = None) -> Query:
    """Parse a SOQL statement; raise SoqlError(MALFORMED_QUERY) on anything outside the subset."""
    parser = _Parser(_tokenize(text), today or date.today())
    query = parser.query()
    if parser.peek() is not None:
        raise parser.unexpected()
    return query


def _tokenize(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    position = 0
    text = text.rstrip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            snippet = text[position : position + 20].strip()
            raise SoqlError("MALFORMED_QUERY", f"unexpected token: '{snippet}'")
        kind = match.lastgroup
        assert kind is not None
        tokens.append((kind, match.group(kind)))
        position = match.end()
    return tokens


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]], today: date) -> None:
        self.tokens, self.position, self.today = tokens, 0, today

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def unexpected(self) -> SoqlError:
        token = self.peek()
        shown = token[1] if token else "<EOF>"
        return SoqlError("MALFORMED_QUERY", f"unexpected token: '{shown}'")

    def keyword(self, *words: str) -> bool:
        token = self.peek()
        if token and token[0] == "word" and token[1].upper() in words:
            self.position += 1
            return True
        return False

    def expect_keyword(self, word: str) -> None:
        if not self.keyword(word):
            raise self.unexpected()

    def punct(self, char: str) -> bool:
        token = self.peek()
        if token and token[0] == "punct" and token[1] == char:
            self.position += 1
            return True
        return False

    def expect_punct(self, char: str) -> None:
        if not self.punct(char):
            raise self.unexpected()

    def name(self) -> str:
        token = self.peek()
        if token is None or token[0] != "word" or ":" in token[1]:
            raise self.unexpected()
        self.position += 1
        return token[1]

    def integer(self) -> int:
        token = self.peek()
        if token is None or token[0] != "number" or not token[1].isdigit():
            raise self.unexpected()
        self.position += 1
        return int(token[1])

    def query(self) -> Query:
        self.expect_keyword("SELECT")
        count = False
        items: list[SelectItem] = []
        if self.count_all():
            count = True
        else:
            items.append(self.select_item())
            while self.punct(","):
                items.append(self.select_item())
        self.expect_keyword("FROM")
        sobject = self.name()
        where = self.condition() if self.keyword("WHERE") else None
        group_by: list[str] = []
        if self.keyword("GROUP"):
            self.expect_keyword("BY")
            group_by.append(self.name())
            while self.punct(","):
                group_by.append(self.name())
        order: list[Order] = []
        if self.keyword("ORDER"):
            self.expect_keyword("BY")
            order.append(self.order_item())
            while self.punct(","):
                order.append(self.order_item())
        limit = self.integer() if self.keyword("LIMIT") else None
        offset = self.integer() if self.keyword("OFFSET") else None
        fields = tuple(item.path for item in items if isinstance(item, Field))
        query = Query(
            fields, sobject, where, tuple(order), limit, offset, count, items=tuple(items),
            group_by=tuple(group_by),
        )  # fmt: skip
        _check_grouping(query)
        return query

    def count_all(self) -> bool:
        """Consume `COUNT()` (the record-count form); leave `COUNT(field)` to `select_item`."""
        token, after = self.peek(), self.tokens[self.position + 1 : self.position + 3]
        if (
            token
            and token[0] == "word"
            and token[1].upper() == "COUNT"
            and after
            == [
                ("punct", "("),
                ("punct", ")"),
            ]
        ):
            self.position += 3
            return True
        return False

    def select_item(self) -> SelectItem:
        token = self.peek()
        following = self.tokens[self.position + 1] if self.position + 1 < len(self.tokens) else None
        if token and token[0] == "word" and following == ("punct", "("):
            function = token[1].upper()
            if function not in AGGREGATE_FUNCTIONS:
                raise self.unexpected()
            self.position += 2
            path = self.name()
            self.expect_punct(")")
            return Aggregate(function, path, self.alias())
        return Field(self.name(), self.alias())

    def alias(self) -> str | None:
        token = self.peek()
        if token and token[0] == "word" and token[1].upper() not in _CLAUSE_WORDS and ":" not in token[1]:
            self.position += 1
            return token[1]
        return None

    def order_item(self) -> Order:
        path = self.name()
        descending = False
        if self.keyword("DESC"):
            descending = True
        else:
            self.keyword("ASC")
        nulls_last: bool | None = None
        if self.keyword("NULLS"):
            if self.keyword("LAST"):
                nulls_last = True
            else:
                self.expect_keyword("FIRST")
                nulls_last = False
        return Order(path, descending, nulls_last)

    def condition(self) -> Condition:
        items = [self.conjunction()]
        while self.keyword("OR"):
            items.append(self.conjunction())
        return items[0] if len(items) == 1 else BoolOp("OR", tuple(items))

    def conjunction(self) -> Condition:
        items = [self.unary()]
        while self.keyword("AND"):
            items.append(self.unary())
        return items[0] if len(items) == 1 else BoolOp("AND", tuple(items))

    def unary(self) -> Condition:
        if self.keyword("NOT"):
            return Not(self.unary())
        if self.punct("("):
            inner = self.condition()
            self.expect_punct(")")
            return inner
        return self.predicate()

    def predicate(self) -> Condition:
        path = self.name()
        negate = self.keyword("NOT")
        if self.keyword("IN"):
            self.expect_punct("(")
            token = self.peek()
            if token and token[0] == "word" and token[1].upper() == "SELECT":
                sub = self.query()
                self.expect_punct(")")
                return InQuery(path, sub, negate)
            values = [self.literal()]
            while self.punct(","):
                values.append(self.literal())
            self.expect_punct(")")
            return InList(path, tuple(values), negate)
        if negate:
            raise self.unexpected()
        if self.keyword("LIKE"):
            pattern = self.literal()
            if not isinstance(pattern, str):
                raise SoqlError("MALFORMED_QUERY", "LIKE needs a quoted string")
            return Like(path, pattern)
        token = self.peek()
        if token is None or token[0] != "op":
            raise self.unexpected()
        self.position += 1
        op = "!=" if token[1] == "<>" else token[1]
        return Compare(path, op, self.literal())

    def literal(self) -> Any:
        token = self.peek()
        if token is None:
            raise self.unexpected()
        kind, text = token
        self.position += 1
        if kind == "string":
            return re.sub(r"\\(.)", lambda m: _ESCAPES.get(str(m.group(1)), str(m.group(1))), text[1:-1])
        if kind == "number":
            return float(text) if "." in text else int(text)
        if kind == "date":
            return date.fromisoformat(text)
        if kind == "datetime":
            return parse_datetime(text)
        if kind == "word":
            value = _word_literal(text.upper(), self.today)
            if value is not _NOT_A_LITERAL:
                return value
        self.position -= 1
        raise self.unexpected()


_NOT_A_LITERAL = object()
_CLAUSE_WORDS = frozenset({"FROM", "WHERE", "GROUP", "ORDER", "LIMIT", "OFFSET"})


def _check_grouping(query: Query) -> None:
    """Aliases belong to aggregate queries; there, every plain field must be grouped."""
    if not query.grouped:
        if any(isinstance(item, Field) and item.alias for item in query.items):
            raise SoqlError("MALFORMED_QUERY", "only aggregate queries support aliases")
        return
    grouped = {path.lower() for path in query.group_by}
    for path in query.fields:
        if path.lower() not in grouped:
            raise SoqlError("MALFORMED_QUERY", f"Field must be grouped or aggregated: {path}")
    if query.order:
        raise SoqlError("MALFORMED_QUERY", "the sandbox does not support ORDER BY in aggregate queries")


def _word_literal(word: str, today: date) -> Any:
    if word == "NULL":
        return None
    if word in ("TRUE", "FALSE"):
        return word == "TRUE"
    if word == "TODAY":
        return DateRange(today, today + timedelta(days=1))
    if word == "YESTERDAY":
        return DateRange(today - timedelta(days=1), today)
    if word.startswith("LAST_N_DAYS:"):
        days = int(word.split(":", 1)[1])
        return DateRange(today - timedelta(days=days), today + timedelta(days=1))
    return _NOT_A_LITERAL


def parse_datetime(text: str) -> datetime:
    """A SOQL or JSON datetime (Z, +hh:mm or +hhmm offsets) as an aware UTC datetime."""
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    elif re.search(r"[+-]\d{4}$", text):
        text = text[:-2] + ":" + text[-2:]
    moment = datetime.fromisoformat(text)
    return moment.astimezone(UTC)
