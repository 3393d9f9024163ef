"""The systemd unit, its environment file and the Dockerfile name real commands, options and settings: a renamed
option or setting fails here, not on an admin's server."""

from __future__ import annotations

import json
import re
import shlex
import tomllib
from pathlib import Path

import pytest
import typer

from connector.cli import app
from connector.settings import Settings

ROOT = Path(__file__).parents[2]
SCRIPT = next(
    iter(tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["scripts"])
)


def parses(argv: list[str]) -> str:
    """The subcommand of ``argv`` (after the program), once its options are parsed: each exists and has its value."""
    command = typer.main.get_command(app)
    context = command.context_class(command, info_name=SCRIPT)
    name, *rest = argv
    sub = command.get_command(context, name)  # type: ignore[attr-defined]
    if sub is None:
        raise LookupError(f"no such command: {name}")
    sub.make_context(name, rest, parent=context)
    return name


def test_the_unit_starts_serve_with_options_it_has() -> None:
    unit = (ROOT / "deploy" / "lawful-crm.service").read_text(encoding="utf-8")
    [start] = re.findall(r"^ExecStart=(.+)$", unit, re.M)
    program, *argv = shlex.split(start)
    assert Path(program).name == SCRIPT
    assert parses(argv) == "serve"
    assert re.search(r"^EnvironmentFile=/etc/lawful-crm/lawful-crm.env$", unit, re.M)


def test_the_container_runs_serve_with_options_it_has_as_a_user_who_is_not_root() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    entrypoint = json.loads(re.search(r"^ENTRYPOINT (\[.*\])$", dockerfile, re.M).group(1))  # type: ignore[union-attr]
    command = json.loads(re.search(r"^CMD (\[.*\])$", dockerfile, re.M).group(1))  # type: ignore[union-attr]
    assert entrypoint == [SCRIPT]
    assert parses(command) == "serve"
    users = re.findall(r"^USER (\S+)$", dockerfile, re.M)
    assert users and users[-1] not in ("root", "0")
    assert re.search(r"^FROM python:3\.\d+-slim", dockerfile, re.M)


def test_every_variable_of_the_environment_file_is_a_setting() -> None:
    names = re.findall(
        r"^(LAWFUL_CRM_\w+)=", (ROOT / "deploy" / "lawful-crm.env.example").read_text(encoding="utf-8"), re.M
    )
    assert names
    for name in names:
        table, _, key = name.removeprefix("LAWFUL_CRM_").lower().partition("__")
        field = Settings.model_fields.get(table)
        assert field is not None, name
        if key:
            model = next(
                t
                for t in (field.annotation, *getattr(field.annotation, "__args__", ()))
                if hasattr(t, "model_fields")
            )
            assert key in model.model_fields, name


@pytest.mark.parametrize("argv", [["serve", "--no-such-option"], ["no-such-command"]])
def test_the_check_itself_refuses_what_does_not_exist(argv: list[str]) -> None:
    with pytest.raises(Exception, match=r"(?i)no such"):
        parses(argv)
