"""Each package's ``__all__`` is exactly what it offers: a name it defines or gathers from its own modules and
leaves out of ``__all__`` is a surface nobody decided on, and a name in ``__all__`` that it does not offer breaks
``from package import *``."""

from __future__ import annotations

import ast
import importlib
import pkgutil
from pathlib import Path
from types import ModuleType

import pytest

import connector

# The emulators and the migration scripts are not part of the connector's API.
_OUTSIDE = (".sandbox", ".migrations")

PACKAGES = sorted(
    info.name
    for info in pkgutil.walk_packages(connector.__path__, "connector.")
    if info.ispkg and not any(part in info.name for part in _OUTSIDE)
)
VALUE_MODULES = ["connector.errors", "connector.models"]
"""Modules that are a public contract by themselves."""


def offered_names(module: ModuleType) -> set[str]:
    """The public names a module binds at its top level by definition, plus, for a package, the names it
    imports from its own modules (third-party imports are its implementation, not its offer)."""
    assert module.__file__ is not None
    is_package = Path(module.__file__).name == "__init__.py"
    names: set[str] = set()
    for node in ast.parse(Path(module.__file__).read_text(encoding="utf-8")).body:
        if isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(target.id for target in node.targets if isinstance(target, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
        elif isinstance(node, ast.ImportFrom) and is_package:
            own = node.level > 0 or (node.module or "").startswith(f"{module.__name__}.")
            if own:
                names.update(alias.asname or alias.name for alias in node.names)
    return {name for name in names if not name.startswith("_")}


def test_the_packages_are_found() -> None:
    """The walk sees the connector's packages (a broken walk would make the equality tests vacuous)."""
    assert {"connector.crm", "connector.policy", "connector.store", "connector.sync"} <= set(PACKAGES)


@pytest.mark.parametrize("name", PACKAGES + VALUE_MODULES)
def test_all_equals_the_public_names_offered(name: str) -> None:
    """``__all__`` (none: empty) lists every public name the module offers, and nothing else."""
    module = importlib.import_module(name)
    exported = getattr(module, "__all__", [])
    assert len(exported) == len(set(exported)), f"{name}.__all__ repeats a name"
    offered = offered_names(module)
    assert not offered - set(exported), (
        f"{name} offers names outside __all__: {sorted(offered - set(exported))}"
    )
    assert not set(exported) - offered, (
        f"{name}.__all__ names what it does not offer: {sorted(set(exported) - offered)}"
    )
    assert all(hasattr(module, export) for export in exported)
