"""The boundaries of ARCHITECTURE.md that a linter alone does not state."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import connector
import connector.policy

POLICY_DIR = Path(connector.policy.__file__).parent


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_the_policy_core_imports_only_the_standard_library_and_the_models() -> None:
    """Every module under connector/policy imports stdlib, connector.models or its own package: nothing else."""
    for path in POLICY_DIR.rglob("*.py"):
        for name in imported_modules(path):
            top = name.split(".")[0]
            allowed = (
                top in sys.stdlib_module_names
                or name == "connector.models"
                or name.startswith("connector.policy")
            )
            assert allowed, f"{path.name} imports {name}"


def test_the_policy_core_reads_no_clock_environment_or_log() -> None:
    """No now(), today(), os.environ or logging in the policy core: now is passed in."""
    for path in POLICY_DIR.rglob("*.py"):
        source = path.read_text(encoding="utf-8")
        for forbidden in ("date.today", "datetime.now", "os.environ", "logging", "print("):
            assert forbidden not in source, f"{path.name} uses {forbidden}"
