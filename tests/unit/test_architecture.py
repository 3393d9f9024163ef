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


def test_every_product_logger_lives_under_one_namespace() -> None:
    """Log configuration (levels, handlers, filters) reaches the whole product through ``lawful_crm``."""
    product = Path(connector.__file__).parent
    for path in product.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "getLogger"
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
            ):
                name = node.args[0].value
                vendor = name.split(".")[0] in {
                    "urllib3",
                    "httpx",
                    "hubspot",
                    "simple_salesforce",
                    "alembic",
                    "uvicorn",
                }
                assert vendor or name.split(".")[0] == "lawful_crm", f"{path.name} logs as {name}"
