"""``lawful-crm dnc``: import do-not-call registers, show their state, check a number, edit the own list.

Exit codes: 0 done; 1 the file was refused and nothing changed (no valid number in it, more lines that are no
valid number than ``--max-rejected-share`` allows, or another import of the same list finished first); 2 usage
(unknown list, unreadable file, configuration or column, a date or number that cannot be read).

Personal data: import output gives counts, reasons and line numbers, never a line's content. ``check`` prints
the number it checked in E.164 form: that is the operator's own input read back, so they see how it was
understood (a national number read with the wrong country shows at once); it is neither logged nor stored.

Only typer and the models are imported at module level: ``lawful-crm --help`` stays fast.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

from connector.commands.options import ConfigOption, JsonOption, StoreOption
from connector.models import RegisterList

if TYPE_CHECKING:
    from connector.dnc.registers import DncRegisters, Progress
    from connector.dnc.reports import CheckResult, ImportReport, ListStatus

__all__ = ["app"]

app = typer.Typer(
    name="dnc",
    help="Do-not-call registers and the own suppression list: import, status, check, add, remove.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

ListOption = Annotated[
    RegisterList,
    typer.Option("--list", help="The list: a national register or OWN.", show_default=False),
]
CountryOption = Annotated[
    str | None,
    typer.Option(
        "--country",
        help="Country (ISO code, e.g. NL) of numbers written in national format, where the list does not fix it.",
        show_default=False,
    ),
]

_PROGRESS_EVERY = 500_000
T = TypeVar("T")


def _registers(config: Path | None, store_url: str | None, *, keyed: bool = True) -> DncRegisters:
    """The lists of the configured store (``bootstrap``); ``keyed``: with the hash key read and checked (created
    on first need). A bad configuration, store or key exits 2 naming the problem."""
    from connector import bootstrap
    from connector.commands.common import fail_configuration, settings_or_exit
    from connector.errors import ConfigurationError

    assembled = bootstrap.build(settings_or_exit(config), store_url=store_url)
    try:
        registers = assembled.registers
        if keyed:
            registers.unlock()
    except ConfigurationError as error:
        fail_configuration(error)
    return registers


def _date(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        parsed = date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter("expected a date as YYYY-MM-DD", param_hint=option) from None
    if parsed > date.today():
        raise typer.BadParameter("the date lies in the future", param_hint=option)
    return parsed


def _own_only(register: RegisterList) -> None:
    if register is not RegisterList.OWN:
        raise typer.BadParameter(
            "only the OWN list is edited by hand; a register is replaced by importing its file",
            param_hint="--list",
        )


def _progress(register: RegisterList) -> Progress:
    """Progress on standard error: lines read every half million, then each chunk of numbers stored."""
    shown = [0]

    def report(stage: str, count: int) -> None:
        if stage == "stored":
            print(f"{register.value}: {count:,} numbers stored", file=sys.stderr, flush=True)
        elif count - shown[0] >= _PROGRESS_EVERY:
            shown[0] = count
            print(f"{register.value}: {count:,} lines read", file=sys.stderr, flush=True)

    return report


def _with_number(call: Callable[[], T]) -> T:
    """Run ``call``; an invalid number becomes a usage error that names the reason, never the number."""
    from connector.dnc.normalise import InvalidNumberError, Rejection

    try:
        return call()
    except InvalidNumberError as exc:
        if exc.reason is Rejection.NO_COUNTRY:
            raise typer.BadParameter(
                "a number in national format: give its country with --country", param_hint="NUMBER"
            ) from None
        raise typer.BadParameter(str(exc), param_hint="NUMBER") from None


@app.command("import")
def import_(
    file: Annotated[
        Path, typer.Argument(help="One number a line, or CSV with a number column.", show_default=False)
    ],
    *,
    register: ListOption,
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of", help="Date of the register's copy, YYYY-MM-DD (default: today).", show_default=False
        ),
    ] = None,
    column: Annotated[
        str | None,
        typer.Option(
            "--column",
            help="The CSV column holding the numbers (default: found by its header).",
            show_default=False,
        ),
    ] = None,
    country: CountryOption = None,
    max_rejected_share: Annotated[
        float,
        typer.Option(
            "--max-rejected-share",
            min=0.0,
            max=1.0,
            help="Refuse the file when more lines than this are no number.",
        ),
    ] = 0.1,
    as_json: JsonOption = False,
    config: ConfigOption = None,
    store: StoreOption = None,
) -> None:
    """Import a list file. A register's new copy replaces the old one whole, or not at all; OWN is added to."""
    from connector.dnc.readers import ListFileError

    if country is not None and register is not RegisterList.OWN:
        raise typer.BadParameter(
            "a register's numbers are of its own country; --country is for OWN", param_hint="--country"
        )
    if not file.is_file():
        raise typer.BadParameter("no such file", param_hint="FILE")
    day = _date(as_of, "--as-of")
    registers = _registers(config, store)
    try:
        report = registers.import_list(
            register,
            file,
            day,
            column,
            country=country,
            max_rejected_share=max_rejected_share,
            progress=_progress(register),
        )
    except ListFileError as exc:
        raise typer.BadParameter(str(exc), param_hint="FILE") from None
    except OSError as exc:
        raise typer.BadParameter(f"cannot read the file: {exc.strerror}", param_hint="FILE") from None
    if as_json:
        print(json.dumps(report.as_dict()))
    else:
        _print_import(report)
    if not report.ok:
        raise typer.Exit(code=1)


def _print_import(report: ImportReport) -> None:
    name = report.list.value
    if report.outcome.value == "replaced":
        replaced = f", replacing the copy of {report.previous}" if report.previous else ""
        print(f"{name} of {report.as_of}: {report.stored:,} numbers in use{replaced}")
    elif report.outcome.value == "merged":
        print(f"{name}: {report.stored:,} numbers added (since {report.as_of})")
    else:
        print(f"{name}: file refused: {report.message}", file=sys.stderr)
    print(
        f"{report.read:,} lines read, {report.duplicates:,} duplicates, {report.rejected:,} rejected,"
        f" {report.skipped:,} blank or comment lines, {report.elapsed_s:.1f} s"
    )
    if report.rejected:
        more = report.rejected - len(report.rejected_lines)
        lines = ", ".join(str(n) for n in report.rejected_lines) + (f" and {more:,} more" if more else "")
        reasons = ", ".join(
            f"{reason} {count:,}" for reason, count in sorted(report.rejected_reasons.items())
        )
        print(f"rejected lines: {lines} ({reasons})")


@app.command()
def status(*, as_json: JsonOption = False, config: ConfigOption = None, store: StoreOption = None) -> None:
    """Show every list: date of the copy, size, and whether it is stale, missing or legacy."""
    statuses = _registers(config, store, keyed=False).status()
    if as_json:
        print(json.dumps([s.as_dict() for s in statuses]))
        return
    for line in _status_lines(statuses):
        print(line)


def _status_lines(statuses: list[ListStatus]) -> list[str]:
    lines = [f"{'LIST':<11} {'COPY OF':<11} {'NUMBERS':>11}  AGE"]
    for s in statuses:
        if not s.imported:
            lines.append(f"{s.list.value:<11} {'-':<11} {'-':>11}  -")
        else:
            age = f"{s.age_days} days" + (" (stale)" if s.stale else "")
            lines.append(f"{s.list.value:<11} {s.as_of!s:<11} {s.size:>11,}  {age}")
    lines += [f"{s.list.value}: {warning}" for s in statuses for warning in s.warnings]
    return lines


@app.command()
def check(
    number: Annotated[
        str, typer.Argument(help="The phone number, in any common format.", show_default=False)
    ],
    *,
    country: CountryOption = None,
    as_json: JsonOption = False,
    config: ConfigOption = None,
    store: StoreOption = None,
) -> None:
    """Check one number against every list that applies to it."""
    result = _with_number(lambda: _registers(config, store).check(number, country))
    if as_json:
        print(json.dumps(result.as_dict()))
        return
    for line in _check_lines(result):
        print(line)


def _check_lines(result: CheckResult) -> list[str]:
    lines = [result.number]
    for s in result.screenings:
        if s.listed:
            since = f"since {s.since}" if s.since else "date of listing unknown"
            lines.append(f"  {s.list.value:<11} listed ({since}), copy of {s.checked}")
        else:
            lines.append(f"  {s.list.value:<11} not listed, copy of {s.checked}")
    lines += [
        f"  {name.value:<11} not imported: the number counts as unscreened" for name in result.not_imported
    ]
    return lines


@app.command()
def add(
    number: Annotated[
        str, typer.Argument(help="The phone number, in any common format.", show_default=False)
    ],
    *,
    register: ListOption,
    country: CountryOption = None,
    since: Annotated[
        str | None,
        typer.Option(
            "--since", help="When the person asked not to be called (default: today).", show_default=False
        ),
    ] = None,
    config: ConfigOption = None,
    store: StoreOption = None,
) -> None:
    """Put a number on the own do-not-call list (the person asked not to be called)."""
    _own_only(register)
    day = _date(since, "--since")
    added = _with_number(lambda: _registers(config, store).add_own(number, country, day))
    print("added to OWN" if added else "already on OWN (its first date is kept)")


@app.command()
def remove(
    number: Annotated[
        str, typer.Argument(help="The phone number, in any common format.", show_default=False)
    ],
    *,
    register: ListOption,
    country: CountryOption = None,
    config: ConfigOption = None,
    store: StoreOption = None,
) -> None:
    """Take a number off the own do-not-call list (for instance after the person consented again)."""
    _own_only(register)
    removed = _with_number(lambda: _registers(config, store).remove_own(number, country))
    print("removed from OWN" if removed else "not on OWN: nothing to remove")


@app.command("rotate-key")
def rotate_key(
    *,
    yes: Annotated[
        bool, typer.Option("--yes", help="Delete every list and screened number, and make a new key.")
    ] = False,
    config: ConfigOption = None,
    store: StoreOption = None,
) -> None:
    """Start over with a new hash key: every list and every record's screened numbers are deleted (they were
    made with the old key); import each register and the own list again, then run `lawful-crm sync --full`."""
    if not yes:
        print(
            "rotate-key deletes every do-not-call list, the own list included, and every record's screened "
            "numbers; have the list files at hand, then run it again with --yes",
            file=sys.stderr,
        )
        raise typer.Exit(code=2)
    from connector.commands.common import fail_configuration
    from connector.errors import ConfigurationError

    registers = _registers(config, store, keyed=False)
    try:
        registers.rotate_key()
    except ConfigurationError as error:
        fail_configuration(error)
    print("new key in use; import every register and the own list again, then run `lawful-crm sync --full`")


if __name__ == "__main__":
    app()
