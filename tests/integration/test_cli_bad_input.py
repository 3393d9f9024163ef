"""The real `classify` and `explain` processes over the nastiest input: no traceback, one result per line, the
valid lines around the bad ones still decided, from a file argument and from standard input alike."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from connector.cli import app

GOOD = b'{"id": "ok1", "country": "NL", "entity_type": "business", "sources": [{"kind": "supplier"}]}'
NASTY = [
    b"\xef\xbb\xbf" + GOOD,  # a byte-order mark before the first line: accepted
    b'{"id": "\\ud800"}',
    b"[" * 5000 + b"]" * 5000,
    b'{"id": "x", "country": "\xc3\x28"}',
    GOOD,
    b'{"id": "x", "lia_ref": "' + b"a" * (3 << 20) + b'"}',
    b'{"id": "x", "objection": "2026-01-01", "objection": null}',
    b'{"id": "x", "customer": {"paid": "yes"}}',
    b'{"id": " \\t "}',
    GOOD,
]


def run(*args: str, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "connector.cli", *args], input=stdin, capture_output=True, timeout=60
    )


@pytest.mark.parametrize("via", ["file", "stdin"])
def test_classify_survives_every_nasty_line(tmp_path: Path, via: str) -> None:
    data = b"\n".join(NASTY) + b"\n"
    if via == "file":
        path = tmp_path / "nasty.jsonl"
        path.write_bytes(data)
        result = run("classify", str(path), "--now", "2026-11-28")
    else:
        result = run("classify", "-", "--now", "2026-11-28", stdin=data)
    stderr = result.stderr.decode()
    assert result.returncode == 1 and "Traceback" not in stderr
    out = [json.loads(line) for line in result.stdout.decode().splitlines()]
    assert len(out) == len(NASTY)
    assert [i for i, o in enumerate(out) if "lawful_use" in o] == [0, 4, 9]
    assert all(set(o) == {"id", "error"} for i, o in enumerate(out) if i not in (0, 4, 9))
    assert [line.split(":")[0] for line in stderr.splitlines()] == [
        f"line {n}" for n in (2, 3, 4, 6, 7, 8, 9)
    ]


def test_explain_survives_every_nasty_line() -> None:
    """explain reports each bad line on stderr and still explains the three good ones."""
    result = run("explain", "--now", "2026-11-28", stdin=b"\n".join(NASTY))
    stdout, stderr = result.stdout.decode(), result.stderr.decode()
    assert result.returncode == 1 and "Traceback" not in stderr
    assert stdout.count("Contact ok1 (NL, business)") == 3
    assert len(stderr.splitlines()) == 7


@pytest.mark.parametrize("command", ["classify", "explain"])
@pytest.mark.parametrize("now", ["20261203", "2026-12-3", "2026-02-30", "2026-12-03T00:00", "２０２６-12-03"])
def test_now_is_read_like_every_other_date(command: str, now: str) -> None:
    """--now takes YYYY-MM-DD only, as ContactFacts dates do; anything else is a usage error before any output."""
    result = CliRunner().invoke(app, [command, "--now", now], input=GOOD)
    assert result.exit_code == 2 and result.stdout == ""
    assert "expected a date as YYYY-MM-DD" in result.stderr


@pytest.mark.parametrize("command", ["classify", "explain"])
def test_a_broken_configuration_stops_classify_and_explain_as_every_command(
    tmp_path: Path, command: str
) -> None:
    """Exit 2 and every problem listed, the way every command reports its configuration; no value echoed."""
    config = tmp_path / "lawful-crm.toml"
    config.write_text('[policy]\nprofile = "generous"\nconsent_max_idle_months = -1\n', encoding="utf-8")
    done = run(command, "--config", str(config), stdin=GOOD + b"\n")
    assert done.returncode == 2, done.stderr
    err = done.stderr.decode()
    assert "configuration error: 2 problem(s) in the configuration" in err
    assert "policy.profile" in err and "policy.consent_max_idle_months" in err and "generous" not in err
    assert done.stdout == b"", "nothing is decided under a configuration that does not load"
