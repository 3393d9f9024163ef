"""No input line can crash or stall a classify batch (rules section 9.9): each bad line gets its own error object,
the others are still decided, and nothing of the bad line's content is repeated in an error."""

from __future__ import annotations

import io
import json
import tracemalloc
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connector.jsonlines import MAX_LINE_BYTES, write_decisions
from connector.models import ContactFacts
from connector.policy import PolicySettings
from tests.conftest import NOW
from tests.strategies import contact_facts

BOM = b"\xef\xbb\xbf"
GOOD = b'{"id": "ok1", "country": "NL", "entity_type": "business", "sources": [{"kind": "supplier"}]}'


def classify(data: bytes) -> tuple[list[dict[str, Any]], list[str], int]:
    """Run the classify path over ``data``: the output objects, the stderr lines and the count of bad lines."""
    out, err = io.BytesIO(), io.StringIO()
    failed = write_decisions(io.BytesIO(data), out, err, now=NOW, settings=PolicySettings())
    lines = out.getvalue().decode("utf-8").split("\n")
    assert lines[-1] == "", "every output line ends with a newline"
    return [json.loads(line) for line in lines[:-1]], err.getvalue().splitlines(), failed


def non_blank_lines(data: bytes) -> int:
    """How many results the input asks for: one per line that is not blank (a BOM before line 1 is no content)."""
    pieces = data.removeprefix(BOM).split(b"\n")
    if pieces[-1] == b"":
        pieces.pop()
    return sum(1 for piece in pieces if piece.strip())


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        (b'{"id": "\\ud800"}', "lone surrogate"),
        (b'{"id": "x", "lia_ref": "a\\udc00b"}', "lone surrogate"),
        (b"[" * 5000 + b"]" * 5000, "nested too deeply"),
        (b'{"id": "x", "consents": ' + b"[" * 5000 + b"]" * 5000 + b"}", "nested too deeply"),
        (b'{"id": "x", "country": "NL\xff"}', "not valid UTF-8"),
        (
            b'{"id": "x", "objection": "2026-01-01", "objection": null}',
            "objection: the key appears more than once",
        ),
        (b'{"id": "x", "customer": {"paid": true, "paid": false}}', "paid: the key appears more than once"),
        (b'{"id": "x", "email": {"kind": "none", "published_for_offers": "yes"}}', "published_for_offers"),
        (b'{"id": "x", "dnc": [{"list": "OWN", "listed": 0, "checked": "2026-11-01"}]}', "dnc.0.listed"),
        (b'{"id": "x", "customer": {"paid": 1}}', "customer.paid"),
        (b'{"id": "   "}', "id: Value error, the id is blank"),
        (b'{"id": "x\\u0000y"}', "id: Value error, the id contains control"),
        (b'{"id": "x\\ny"}', "id: Value error, the id contains control"),
        (b'{"id": "x\\u2028"}', "id: Value error, the id contains control"),
        (b'{"id": "x", "objection": NaN}', "NaN"),
        (b'{"id": "x", "lia_ref": ' + b"9" * 5000 + b"}", "too many digits"),
        (b'{"id": "x", "objection": "20261203"}', "objection: Value error, expected a date as YYYY-MM-DD"),
        (
            b'{"id": "x", "objection": "\\uff12\\uff10\\uff12\\uff16-12-03"}',
            "objection: Value error, expected a date",
        ),
        (b"\xef\xbb\xbf" + GOOD, "Invalid JSON"),  # a BOM is accepted before the first line only
        (b"[1, 2]", "record: Input should be a valid dictionary"),
    ],
)
def test_a_bad_line_gets_its_error_and_the_lines_around_it_are_decided(line: bytes, problem: str) -> None:
    outputs, errors, failed = classify(GOOD + b"\n" + line + b"\n" + GOOD + b"\n")
    assert failed == 1 and len(outputs) == 3
    assert outputs[0]["id"] == "ok1" and "lawful_use" in outputs[0]
    assert outputs[2]["id"] == "ok1" and "lawful_use" in outputs[2]
    assert set(outputs[1]) == {"id", "error"} and problem in outputs[1]["error"]
    assert errors == [f"line 2: {outputs[1]['error']}"]


def test_duplicate_keys_never_make_an_objector_callable() -> None:
    """The last key does not win: without the objection this contact would be callable on the company line."""
    line = (
        GOOD[:-1] + b', "call_target": "general_number_role", "objection": "2026-01-01", "objection": null}'
    )
    outputs, _, _ = classify(line + b"\n")
    assert "error" in outputs[0] and "do_not_cold_call" not in outputs[0]


def test_a_bom_on_the_first_line_is_dropped() -> None:
    outputs, errors, failed = classify(BOM + GOOD + b"\r\n" + GOOD)
    assert failed == 0 and errors == []
    assert [o["id"] for o in outputs] == ["ok1", "ok1"]


def test_an_over_long_line_is_refused_unparsed_with_flat_memory() -> None:
    """A 24 MiB line costs about one MiB of memory, is refused, and the next line is still decided."""
    long_line = b'{"id": "x", "lia_ref": "' + b"a" * (24 * MAX_LINE_BYTES) + b'"}'
    stream = io.BytesIO(long_line + b"\n" + GOOD + b"\n")
    out, err = io.BytesIO(), io.StringIO()
    tracemalloc.start()
    try:
        write_decisions(stream, out, err, now=NOW, settings=PolicySettings())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    first, second = (json.loads(line) for line in out.getvalue().splitlines())
    assert first == {"id": None, "error": "the line is longer than 1 MiB; refused without parsing"}
    assert second["id"] == "ok1" and "lawful_use" in second
    assert peak < 4 * MAX_LINE_BYTES, f"peak {peak:,} bytes"


def test_a_line_of_exactly_one_mebibyte_is_read() -> None:
    filler = MAX_LINE_BYTES - len(b'{"id": "x", "lia_ref": ""}')
    line = b'{"id": "x", "lia_ref": "' + b"a" * filler + b'"}'
    assert len(line) == MAX_LINE_BYTES
    outputs, _, failed = classify(line + b"\n" + line)
    assert failed == 0 and [o["id"] for o in outputs] == ["x", "x"]


def test_error_messages_never_repeat_the_input() -> None:
    """Neither a value nor an odd key of a bad line reaches the error object or stderr."""
    secret = "jan.jansen@example.nl"
    lines = [
        {"id": "x", "country": secret},
        {"id": "x", secret: True},
        {"id": "x", "email": {"kind": secret}},
        {"id": "x", "consents": [{"channel": "email", "date": secret}]},
        {"id": secret + "\u0007"},
    ]
    data = b"\n".join(json.dumps(line).encode() for line in lines)
    data += b'\n{"id": "x", "' + secret.encode() + b'": 1, "' + secret.encode() + b'": 2}'
    outputs, errors, failed = classify(data)
    assert failed == len(outputs) == 6
    assert secret not in json.dumps(outputs) + "\n".join(errors)


def test_a_line_with_many_problems_gets_a_bounded_message() -> None:
    line = json.dumps({"id": "x", **{f"extra_{i}": i for i in range(10_000)}}).encode()
    outputs, _, _ = classify(line)
    assert outputs[0]["id"] == "x" and len(outputs[0]["error"]) < 400
    assert "and 9995 more problems" in outputs[0]["error"]


# --- fuzzing: whatever comes in, one well-formed output line per non-blank input line, and no exception ---

FIELDS = [*ContactFacts.model_fields, "kind", "date", "channel", "list", "listed", "checked", "paid"]
WORDS = [
    "NL",
    "GB",
    "business",
    "consumer",
    "supplier",
    "named_business",
    "email",
    "OWN",
    "2026-01-01",
    "yes",
]
lone_surrogates = st.sampled_from(["\ud800", "x\udfff", "\udc00\ud83d"])
scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(max_size=8)
    | st.sampled_from(WORDS)
    | lone_surrogates
)
keys = st.sampled_from(FIELDS) | st.text(max_size=6)
json_trees = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(keys, inner, max_size=4),
    max_leaves=8,
)
shallow = scalars | st.lists(scalars, max_size=2) | st.dictionaries(keys, scalars, max_size=3)
facts_objects = st.fixed_dictionaries(
    {"id": st.text(min_size=1, max_size=6) | lone_surrogates},
    optional={key: shallow for key in FIELDS if key != "id"},
)


def check_one_output_per_line(data: bytes) -> None:
    outputs, errors, failed = classify(data)
    assert len(outputs) == non_blank_lines(data)
    assert failed == len(errors) == sum("error" in o for o in outputs)
    for output in outputs:
        assert set(output) == {"id", "error"} or {"lawful_use", "do_not_cold_call", "email_allowed"} <= set(
            output
        )


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.binary(max_size=60), max_size=6))
def test_fuzz_random_bytes(lines: list[bytes]) -> None:
    check_one_output_per_line(b"\n".join(lines))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(json_trees | facts_objects, min_size=1, max_size=5), st.booleans())
def test_fuzz_random_json_trees(trees: list[Any], ascii_only: bool) -> None:
    lines = (json.dumps(tree, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass") for tree in trees)
    check_one_output_per_line(b"\n".join(lines))


@settings(max_examples=100, deadline=None)
@given(st.lists(contact_facts, min_size=1, max_size=4))
def test_fuzz_valid_facts_are_all_decided(facts: list[ContactFacts]) -> None:
    """Valid ContactFacts, as a CRM mapping would write them, each get a Decision with their own id."""
    outputs, errors, _ = classify(b"\n".join(f.model_dump_json().encode() for f in facts) + b"\n")
    assert errors == []
    assert [o["id"] for o in outputs] == [f.id for f in facts]
