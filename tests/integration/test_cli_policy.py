"""The policy commands as an admin or a script runs them: real processes, real pipes, real exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from connector.policy import RULESET_VERSION

CASES = Path(__file__).parents[1] / "cases" / "lawful-use-cases.jsonl"


def run(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "connector.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


def facts_lines() -> list[str]:
    return [json.dumps(json.loads(line)["facts"]) for line in CASES.read_text().splitlines()[:5]]


def test_classify_writes_one_decision_per_line_in_input_order() -> None:
    """Five contacts in, five Decisions out, ids in the same order, exit status 0."""
    lines = facts_lines()
    result = run("classify", "--now", "2026-11-28", stdin="\n".join(lines) + "\n")
    assert result.returncode == 0, result.stderr
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert [d["id"] for d in out] == [json.loads(line)["id"] for line in lines]
    assert all(
        set(d) >= {"lawful_use", "do_not_cold_call", "email_allowed", "reasons", "policy"} for d in out
    )


def test_bad_lines_get_an_error_object_and_the_rest_are_still_classified(tmp_path: Path) -> None:
    """Invalid JSON and invalid facts each yield {id, error}; good lines still decide; the exit status is 1."""
    secret = "jan.jansen@example.nl"
    good = facts_lines()[0]
    bad_enum = json.dumps({"id": "b1", "country": "NL", "entity_type": "robot"})
    bad_field = json.dumps({"id": "b2", "email_address": secret})
    path = tmp_path / "in.jsonl"
    path.write_text("\n".join([good, "{not json", bad_enum, bad_field, good]) + "\n")
    result = run("classify", str(path), "--now", "2026-11-28")
    assert result.returncode == 1
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(out) == 5
    assert out[1] == {"id": None, "error": out[1]["error"]} and "Invalid JSON" in out[1]["error"]
    assert out[2]["id"] == "b1" and "entity_type" in out[2]["error"]
    assert out[3]["id"] == "b2" and "email_address" in out[3]["error"]
    assert "lawful_use" in out[0] and "lawful_use" in out[4]
    assert "line 2:" in result.stderr and "line 4:" in result.stderr
    assert secret not in result.stdout + result.stderr, "the offending value never reaches an error message"


def test_profile_and_now_change_the_decision() -> None:
    """--profile legal_minimum and --now are honoured and named in the policy id."""
    named = json.dumps(
        {"id": "p", "country": "NL", "entity_type": "business", "sources": [{"kind": "linkedin_manual"}]}
    )
    conservative = json.loads(run("classify", "--now", "2026-11-28", stdin=named).stdout)
    minimum = json.loads(
        run("classify", "--now", "2026-11-28", "--profile", "legal_minimum", stdin=named).stdout
    )
    assert conservative["do_not_cold_call"] and not minimum["do_not_cold_call"]
    assert "legal_minimum" in minimum["policy"]


def test_a_malformed_now_is_a_usage_error() -> None:
    """--now must be YYYY-MM-DD; anything else stops with a clear message and exit status 2."""
    result = run("classify", "--now", "28/11/2026", stdin="")
    assert result.returncode == 2 and "YYYY-MM-DD" in result.stderr


def test_explain_prints_flags_rules_citations_and_actions_as_plain_text_when_piped() -> None:
    """Piped output has no escape codes and carries everything a DPO needs to answer 'why'."""
    supplier = json.dumps(
        {
            "id": "e1",
            "country": "NL",
            "entity_type": "business",
            "sources": [{"kind": "supplier"}],
            "email": {"kind": "named_business"},
        }
    )
    result = run("explain", "--now", "2026-11-28", stdin=supplier)
    assert result.returncode == 0, result.stderr
    text = result.stdout
    assert "\x1b[" not in text
    for expected in (
        "Contact e1 (NL, business)",
        "Sales call:      NOT ALLOWED",
        "Marketing email: NOT ALLOWED",
        "Category:        supplier",
        "Review needed:   yes",
        "L1",
        "GDPR 5(1)(b)",
        "N2",
        "Tw 11.7(1)",
        "Required actions: art14_notice",
        f"lawful-use {RULESET_VERSION} conservative",
    ):
        assert expected in text


def test_rules_lists_every_rule_with_its_dates_and_citation() -> None:
    """`rules --json` lists each rule once; dated rules carry their dates."""
    result = run("rules", "--json")
    rules = {r["id"]: r for r in map(json.loads, result.stdout.splitlines())}
    assert {"G1", "C1", "S1", "N4", "D1", "B3", "F3", "U3", "L1"} <= set(rules)
    assert rules["N4"]["effective_from"] == "2026-07-01"
    assert rules["F4"]["effective_until"] == "2026-08-10"
    assert rules["N3"]["effective_until"] == "2026-06-30"
    assert rules["N9"]["effective_from"] == "2026-07-01" and rules["F3"]["effective_from"] == "2026-08-11"
    assert "UWG" in rules["G1"]["citations"]["DE"] and "Tw" not in rules["G1"]["citation"]
    plain = run("rules").stdout
    assert plain.splitlines()[0].startswith("id\tchannel\tcountry\tdates\tcitation")


def test_help_and_classify_do_not_import_the_vendor_sdks() -> None:
    """`--help` and `classify` must not pay for importing simple-salesforce or hubspot."""
    probe = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from connector.cli import app\n"
        "r = CliRunner().invoke(app, ['--help'])\n"
        "assert r.exit_code == 0\n"
        "r = CliRunner().invoke(app, ['classify', '--now', '2026-11-28'], input='{\"id\": \"x\"}\\n')\n"
        "assert r.exit_code == 0, r.output\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('simple_salesforce', 'hubspot')))\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
