"""Read and validate a mapping file, reporting every problem at once."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import ValidationError

from connector.errors import ConfigurationError
from connector.files import FileRefusedError, read_text_capped
from connector.mapping.schema import MappingFile

__all__ = ["DEFAULT_MAPPINGS", "load_mapping", "parse_mapping", "validation_problems"]

_INSTALLED = Path(__file__).resolve().parents[1] / "default_mappings"
DEFAULT_MAPPINGS = _INSTALLED if _INSTALLED.is_dir() else Path(__file__).resolve().parents[2] / "mappings"
"""The shipped mappings: packaged into the wheel as connector/default_mappings, the repo's mappings/ otherwise."""


def validation_problems(error: ValidationError, *, whole: str) -> tuple[str, ...]:
    """One line per problem, ``where: what``, never the offending value (it may be personal data or a secret)."""
    return tuple(
        f"{'.'.join(str(p) for p in err['loc']) or whole}: {err['msg']}"
        for err in error.errors(include_url=False, include_input=False, include_context=False)
    )


def parse_mapping(text: str, *, origin: str) -> MappingFile:
    """Parse YAML text into a MappingFile; raise ConfigurationError listing every problem."""
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        raise ConfigurationError(
            f"{origin}: not valid YAML{where}", problems=(f"not valid YAML{where}",)
        ) from None
    if not isinstance(raw, dict):
        raise ConfigurationError(
            f"{origin}: a mapping file is a YAML mapping", problems=("not a YAML mapping",)
        )
    try:
        return MappingFile.model_validate(raw)
    except ValidationError as exc:
        problems = validation_problems(exc, whole="file")
        raise ConfigurationError(
            f"{origin}: {len(problems)} problem(s) in the mapping", problems=problems
        ) from None


def load_mapping(crm: str, path: Path | None = None) -> MappingFile:
    """Load ``path``, or the shipped default mapping for ``crm``."""
    source = path if path is not None else DEFAULT_MAPPINGS / f"{crm}.yaml"
    try:
        text = read_text_capped(source, what="mapping file")
    except OSError as exc:
        raise ConfigurationError(f"cannot read mapping file {source}: {exc.strerror}") from None
    except FileRefusedError as exc:
        raise ConfigurationError(str(exc)) from None
    except UnicodeDecodeError:
        raise ConfigurationError(f"the mapping file {source} is not UTF-8 text") from None
    mapping = parse_mapping(text, origin=str(source))
    if mapping.crm != crm:
        raise ConfigurationError(f"{source}: the mapping is for {mapping.crm}, not {crm}")
    return mapping
