"""``lawful-crm init [DIR]``: a commented ``lawful-crm.toml`` and the default mappings beside it, to edit.

The configuration is the shipped example (every setting with a comment); its ``mapping_file`` lines point at the
copies in ``mappings/``, so the admin edits field names and picklist values there. Nothing is overwritten
unless ``--force`` is given.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import typer

from connector.commands.common import EXIT
from connector.mapping.load import DEFAULT_MAPPINGS

__all__ = ["EXAMPLE", "write_starter"]

_INSTALLED = Path(__file__).resolve().parents[1] / "default_config" / "lawful-crm.toml.example"
EXAMPLE = (
    _INSTALLED if _INSTALLED.is_file() else Path(__file__).resolve().parents[2] / "lawful-crm.toml.example"
)
"""The commented example configuration: packaged into the wheel, the repository's copy otherwise."""

_MAPPING_LINES = {
    "salesforce": '# mapping_file = "mappings/salesforce.yaml"   # default: the shipped mapping',
    "hubspot": '# mapping_file = "mappings/hubspot.yaml"',
}


def _with_mapping_files(text: str) -> str:
    """The example with each CRM's ``mapping_file`` set to the copy ``init`` writes."""
    for crm, line in _MAPPING_LINES.items():
        wanted = (
            f'mapping_file = "mappings/{crm}.yaml"   # copied by lawful-crm init: edit it to match your org'
        )
        text = text.replace(line, wanted) if line in text else text
    return text


def write_starter(directory: Path, *, force: bool) -> list[Path]:
    """Write the configuration and the mappings into ``directory``; return the files written."""
    config = directory / "lawful-crm.toml"
    mappings = [directory / "mappings" / source.name for source in sorted(DEFAULT_MAPPINGS.glob("*.yaml"))]
    existing = [path for path in (config, *mappings) if path.exists()]
    if existing and not force:
        names = ", ".join(str(path) for path in existing)
        print(f"init: {names} already exist(s); nothing written (--force overwrites)", file=sys.stderr)
        raise typer.Exit(code=EXIT["usage"])
    (directory / "mappings").mkdir(parents=True, exist_ok=True)
    config.write_text(_with_mapping_files(EXAMPLE.read_text(encoding="utf-8")), encoding="utf-8")
    for target in mappings:
        shutil.copyfile(DEFAULT_MAPPINGS / target.name, target)
    return [config, *mappings]


def init(directory: Path, *, force: bool) -> None:
    written = write_starter(directory, force=force)
    for path in written:
        print(f"wrote {path}")
    print(
        "next: fill in [salesforce] and/or [hubspot] (delete the table of a CRM you do not use; secrets are best "
        "kept in LAWFUL_CRM_* variables), then run: lawful-crm mappings check"
    )
