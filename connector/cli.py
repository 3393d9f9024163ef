"""The ``lawful-crm`` command line: a thin shell over the policy core, the sandbox and the sync.

Heavy imports (vendor SDKs, the web stack) happen inside the commands that need them, so ``--help`` and
``classify`` stay fast.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import IO, Annotated, Any

import typer

from connector.commands.options import ConfigOption, StoreOption
from connector.models import Profile

app = typer.Typer(
    name="lawful-crm",
    help="Decide, explain and write back who may lawfully be cold-called or sent marketing e-mail.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _print_version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        print(f"lawful-crm {version('lawful-crm')}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", help="Print the version and exit.", callback=_print_version, is_eager=True),
    ] = False,
) -> None:
    pass


InputFile = Annotated[
    str,
    typer.Argument(
        help="JSON lines of ContactFacts; '-' or nothing reads standard input.", show_default=False
    ),
]
NowOption = Annotated[
    str | None, typer.Option("--now", help="Evaluation date YYYY-MM-DD (default: today).", show_default=False)
]
ProfileOption = Annotated[
    Profile | None,
    typer.Option(
        "--profile", help="conservative or legal_minimum (default: from lawful-crm.toml, else conservative)."
    ),
]


def _parse_now(value: str | None, *, option: str = "--now") -> date:
    """The evaluation date, read exactly as ContactFacts dates are (YYYY-MM-DD only: not 20261203)."""
    if value is None:
        return date.today()
    from pydantic import TypeAdapter, ValidationError

    from connector.models import IsoDate

    try:
        return TypeAdapter(IsoDate).validate_python(value)
    except ValidationError:
        raise typer.BadParameter("expected a date as YYYY-MM-DD", param_hint=option) from None


AsOfOption = Annotated[
    str | None,
    typer.Option(
        "--as-of",
        help="Decide as of this date (YYYY-MM-DD) instead of today: a dry run previews the flags of a day ahead.",
        show_default=False,
    ),
]


@contextmanager
def _open_input(path: str) -> Iterator[IO[bytes]]:
    """The input as bytes: lines are decoded one by one, so bad bytes spoil only their own line."""
    if path == "-":
        yield sys.stdin.buffer
        return
    try:
        handle = open(path, "rb")  # noqa: SIM115 - closed by the context manager
    except OSError as exc:
        raise typer.BadParameter(f"cannot read {path}: {exc.strerror}", param_hint="FILE") from None
    with handle:
        yield handle


def _policy_settings(profile: Profile | None, config: Path | None):  # type: ignore[no-untyped-def]
    from connector.commands.common import settings_or_exit

    return settings_or_exit(config).policy.to_policy(profile=profile)


@app.command()
def classify(
    file: InputFile = "-",
    now: NowOption = None,
    profile: ProfileOption = None,
    config: ConfigOption = None,
) -> None:
    """Read ContactFacts as JSON lines, write one Decision per line in the same order.

    A bad line yields {"id": ..., "error": ...} on stdout and a message on stderr; the exit status is then 1.
    """
    from connector.jsonlines import write_decisions

    today = _parse_now(now)
    settings = _policy_settings(profile, config)
    with _open_input(file) as source:
        failed = write_decisions(source, sys.stdout.buffer, sys.stderr, now=today, settings=settings)
    if failed:
        raise typer.Exit(code=1)


@app.command()
def explain(
    file: InputFile = "-",
    now: NowOption = None,
    profile: ProfileOption = None,
    config: ConfigOption = None,
) -> None:
    """Explain, for each contact, both flags, the category, every deciding rule with its citation, and actions."""
    from rich.console import Console

    from connector.explain import explain_plain, explain_rich
    from connector.jsonlines import LineError, classify_stream

    today = _parse_now(now)
    settings = _policy_settings(profile, config)
    console = Console()
    failed = 0
    with _open_input(file) as source:
        for line_no, facts, result in classify_stream(source, now=today, settings=settings):
            if isinstance(result, LineError):
                failed += 1
                print(f"line {line_no}: {result.error}", file=sys.stderr)
            elif console.is_terminal:
                explain_rich(console, result, facts)
            else:
                print(explain_plain(result, facts) + "\n")
    if failed:
        raise typer.Exit(code=1)


@app.command()
def rules(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per rule.")] = False,
) -> None:
    """List the rule set: id, channel, country, effective dates, citation and summary."""
    import json

    from rich.console import Console

    from connector.explain import rules_plain, rules_rich
    from connector.policy import CATALOGUE

    if as_json:
        for rule in CATALOGUE:
            fields = {
                k: getattr(rule, k) for k in ("id", "code", "channel", "country", "citation", "summary")
            }
            fields["effective_from"] = rule.effective_from.isoformat() if rule.effective_from else None
            fields["effective_until"] = rule.effective_until.isoformat() if rule.effective_until else None
            fields["contested"] = rule.contested
            fields["citations"] = dict(rule.citations)
            print(json.dumps(fields, ensure_ascii=False))
        return
    console = Console()
    if console.is_terminal:
        rules_rich(console, CATALOGUE)
    else:
        print(rules_plain(CATALOGUE))


@app.command()
def sandbox(
    salesforce_port: Annotated[
        int, typer.Option(help="Port of the Salesforce emulator (0 = any free port).")
    ] = 0,
    hubspot_port: Annotated[int, typer.Option(help="Port of the HubSpot emulator (0 = any free port).")] = 0,
    contacts: Annotated[
        int, typer.Option(min=0, help="Seeded contacts per CRM (Salesforce adds 30 % leads).")
    ] = 5000,
    seed: Annotated[
        int, typer.Option(help="Seed of the generated data: the same seed gives the same people.")
    ] = 1,
    webhook_url: Annotated[
        str | None, typer.Option(help="Send HubSpot webhooks and Salesforce Outbound Messages here.")
    ] = None,
    token: Annotated[str, typer.Option(help="Bearer token both emulators accept.")] = "sandbox",
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the connection settings as one JSON line.")
    ] = False,
    serve_url: Annotated[
        str | None,
        typer.Option(
            "--serve-url",
            help="Deliver webhooks to lawful-crm serve at this URL (its HubSpot and Outbound Message routes).",
        ),
    ] = None,
    as_toml: Annotated[
        bool,
        typer.Option("--toml", help="Print a ready lawful-crm.toml for these sandboxes, webhooks included."),
    ] = False,
    search_lag: Annotated[
        float,
        typer.Option(
            "--search-lag",
            min=0,
            max=600,
            metavar="SECONDS",
            help="HubSpot search sees each write up to this many seconds late, as HubSpot's does (0 = at once).",
        ),
    ] = 0.0,
) -> None:
    """Run loopback emulators of the Salesforce and HubSpot APIs with seeded synthetic contacts until stopped."""
    import json
    import signal
    import threading

    from crm_sandbox.launch import running_sandboxes

    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    with running_sandboxes(
        contacts=contacts,
        seed=seed,
        token=token,
        salesforce_port=salesforce_port,
        hubspot_port=hubspot_port,
        webhook_url=webhook_url,
        serve_url=serve_url,
    ) as running:
        running.hubspot.state.search_lag_s = search_lag
        info = running.connection()
        info["hubspot"]["search_lag_s"] = search_lag
        if as_toml:
            from crm_sandbox.config import sandbox_toml

            text = sandbox_toml(info, serve_url=serve_url, store_url="sqlite:///lawful-crm-sandbox.db")
            print(
                text + f"# {contacts} seeded contacts per CRM (seed {seed}). Ctrl-C stops the sandbox.",
                flush=True,
            )
        elif as_json:
            print(json.dumps(info), flush=True)
        else:
            sf, hs = info["salesforce"], info["hubspot"]
            print(f"Salesforce  {sf['instance_url']}  token {sf['token']}  org {sf['org_id']}")
            print(f"            OAuth token endpoint {sf['token_url']} (client id {sf['client_id']})")
            print(f"HubSpot     {hs['base_url']}  token {hs['token']}  portal {hs['portal_id']}")
            print(f"            webhook secret {hs['webhook_secret']}, search lag {search_lag:g} s")
            print(f"{contacts} seeded contacts per CRM (seed {seed}). Ctrl-C stops.", flush=True)
        stop.wait()
    print("sandbox stopped", file=sys.stderr)


CrmChoice = Annotated[str, typer.Option("--crm", help="salesforce, hubspot or all (every configured CRM).")]
OneCrm = Annotated[str, typer.Option("--crm", help="salesforce or hubspot.")]
RecordId = Annotated[str, typer.Argument(help="The CRM record id.", show_default=False)]


@app.command()
def sync(
    crm: CrmChoice = "all",
    full: Annotated[
        bool, typer.Option("--full", help="Read every record, not only those changed since the last run.")
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Write nothing; report every change that would be made.")
    ] = False,
    limit: Annotated[
        int | None, typer.Option("--limit", min=1, help="Stop after about N records (whole pages).")
    ] = None,
    accept_large_change: Annotated[
        bool,
        typer.Option("--accept-large-change", help="Write even if many records would become permissive."),
    ] = False,
    report: Annotated[
        Path | None,
        typer.Option(
            "--report", help="List each person whose flags change in FILE.csv, FILE.json or FILE.html."
        ),
    ] = None,
    as_of: AsOfOption = None,
    config: ConfigOption = None,
    store: StoreOption = None,
) -> None:
    """Pull, classify and write back the flags of every changed contact and lead, and of every record whose
    flags are due to change without an edit (a decision that expired, a new policy or register).

    Exit status: 0 done, 1 done but some records failed, 2 configuration error, 3 stopped cleanly (quota,
    --limit, another sync running: the next run resumes), 4 refused by the blast-radius guard, 5 failed.
    """
    from connector.commands.sync import run_sync_command
    from connector.sync.run import SyncOptions

    if report is not None and report.suffix.lower() not in (".csv", ".json", ".html"):
        raise typer.BadParameter("the report file must end in .csv, .json or .html", param_hint="--report")
    options = SyncOptions(
        full=full,
        dry_run=dry_run,
        limit=limit,
        accept_large_change=accept_large_change,
        as_of=_parse_now(as_of, option="--as-of") if as_of is not None else None,
    )
    run_sync_command(crm=crm, options=options, report=report, config=config, store_url=store)


@app.command()
def install(
    crm: CrmChoice = "all",
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would be created; change nothing.")
    ] = False,
    uninstall: Annotated[bool, typer.Option("--uninstall", help="Remove what install created.")] = False,
    config: ConfigOption = None,
) -> None:
    """Create the write-back fields, their permission set (Salesforce) or property group (HubSpot); idempotent."""
    from connector.commands.admin import install as run_install

    run_install(crm=crm, dry_run=dry_run, uninstall=uninstall, config=config)


mappings_app = typer.Typer(help="Check the mapping files against the CRM.", no_args_is_help=True)
app.add_typer(mappings_app, name="mappings")


@mappings_app.command("check")
def mappings_check(
    crm: CrmChoice = "all",
    offline: Annotated[
        bool, typer.Option("--offline", help="Validate the file only; do not contact the CRM.")
    ] = False,
    config: ConfigOption = None,
) -> None:
    """Validate the mapping file and compare it with the CRM: missing fields, unmapped values, unwritable fields."""
    from connector.commands.admin import check_mappings

    check_mappings(crm=crm, config=config, offline=offline)


def _register_dnc() -> None:
    from connector.commands.dnc import app as dnc_app

    app.add_typer(dnc_app, name="dnc", help="Do-not-call registers and the own suppression list.")


_register_dnc()

db_app = typer.Typer(help="The connector's own database.", no_args_is_help=True)
app.add_typer(db_app, name="db")


@db_app.command("upgrade")
def db_upgrade(config: ConfigOption = None, store: StoreOption = None) -> None:
    """Apply the store's migrations (other commands do this on a fresh database by themselves)."""
    from connector.commands.admin import upgrade_database

    upgrade_database(config=config, store_url=store)


@app.command()
def runs(
    crm: Annotated[str | None, typer.Option("--crm", help="Only this CRM.", show_default=False)] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="How many runs, newest first.")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
    config: ConfigOption = None,
    store: StoreOption = None,
) -> None:
    """The run history: when, kind, outcome, records read and decided again, flags opened and closed, review,
    failures, API calls, quota left, duration. A run whose process was killed is shown as interrupted."""
    from connector.commands.runs import show_runs

    show_runs(crm=crm, limit=limit, as_json=as_json, config=config, store_url=store)


@app.command()
def doctor(config: ConfigOption = None, store: StoreOption = None) -> None:
    """Check the configuration, each CRM's connection, own fields and mapping, the store and its migrations, the
    do-not-call registers' age, and why each webhook endpoint is on or off; change nothing. Exit 1 when a check
    failed."""
    from connector.commands.doctor import doctor as run_doctor

    run_doctor(config=config, store_url=store)


@app.command()
def init(
    directory: Annotated[
        Path,
        typer.Argument(help="Where to write them.", file_okay=False, show_default="the current directory"),
    ] = Path("."),
    force: Annotated[bool, typer.Option("--force", help="Overwrite files that exist.")] = False,
) -> None:
    """Write a commented lawful-crm.toml and the default mappings (mappings/*.yaml) to edit, in DIRECTORY."""
    from connector.commands.init import init as write_init

    write_init(directory, force=force)


@app.command()
def report(
    html: Annotated[
        Path, typer.Option("--html", help="Write the run report to this HTML file.", dir_okay=False)
    ],
    config: ConfigOption = None,
    store: StoreOption = None,
) -> None:
    """The run report as one self-contained HTML file: tiles per CRM, charts of the runs and of the decision
    categories, runs, flag transitions, errors and dead letters; counts only, viewable without a network."""
    from connector.commands.report import write_report

    write_report(html=html, config=config, store_url=store)


@app.command()
def upcoming(
    days: Annotated[int, typer.Option("--days", min=1, help="How far ahead to look.")] = 90,
    crm: Annotated[str | None, typer.Option("--crm", help="Only this CRM.", show_default=False)] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
    as_of: AsOfOption = None,
    config: ConfigOption = None,
    store: StoreOption = None,
) -> None:
    """Which flags will change on which day without any edit, and why (consents going stale, a rule taking
    effect, a screening growing old); read from the store alone, no CRM is called."""
    from connector.commands.upcoming import show_upcoming

    show_upcoming(
        crm=crm,
        days=days,
        as_of=_parse_now(as_of, option="--as-of"),
        as_json=as_json,
        config=config,
        store_url=store,
    )


audit_app = typer.Typer(help="The evidence behind each record's flags.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")


@audit_app.command("show")
def audit_show(
    crm: OneCrm, record_id: RecordId, config: ConfigOption = None, store: StoreOption = None
) -> None:
    """The history of decisions for one record, with reasons, rules and what was written."""
    from connector.commands.audit import show_record

    show_record(crm=crm, record_id=record_id, config=config, store_url=store)


@audit_app.command("export")
def audit_export(
    crm: OneCrm,
    record_id: RecordId,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the JSON here (default: stdout).")
    ] = None,
    config: ConfigOption = None,
    store: StoreOption = None,
) -> None:
    """A JSON evidence pack for a DPO: facts, decisions, policy ids, writes and timestamps."""
    from connector.commands.audit import export_record

    export_record(crm=crm, record_id=record_id, output=output, config=config, store_url=store)


@audit_app.command("refused")
def audit_refused(
    crm: Annotated[str | None, typer.Option("--crm", help="Only this CRM.", show_default=False)] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
    config: ConfigOption = None,
    store: StoreOption = None,
) -> None:
    """The records whose latest write the CRM refused (validation rules, required fields, duplicate rules): code,
    times in a row, last attempt, and whether the sync parked them until they change."""
    from connector.commands.audit import show_refused

    show_refused(crm=crm, as_json=as_json, config=config, store_url=store)


@app.command()
def forget(crm: OneCrm, record_id: RecordId, config: ConfigOption = None, store: StoreOption = None) -> None:
    """Erase one person's audit entries (an erasure request); the CRM record itself is not touched."""
    from connector.commands.audit import forget_record

    forget_record(crm=crm, record_id=record_id, config=config, store_url=store)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[
        int, typer.Option(min=0, max=65535, help="Port to listen on (0 = any free port).")
    ] = 8080,
    config: ConfigOption = None,
    store: StoreOption = None,
    public_url: Annotated[
        str | None,
        typer.Option(
            "--public-url",
            help="The URL prefix the CRMs call (behind a proxy); HubSpot signs the full URL. "
            "Default: \\[webhooks] public_base_url, else the request's own.",
            show_default=False,
        ),
    ] = None,
    as_of: AsOfOption = None,
) -> None:
    """Receive CRM webhooks, process them within seconds, and run the scheduled sync; stops on SIGTERM/Ctrl-C."""
    from connector.commands.serve import serve as run_serve

    run_serve(
        host=host,
        port=port,
        config=config,
        store_url=store,
        public_url=public_url,
        as_of=_parse_now(as_of, option="--as-of") if as_of is not None else None,
    )


@app.command()
def worker(
    concurrency: Annotated[int, typer.Option(min=1, max=64, help="Jobs run at once by this process.")] = 4,
    shards: Annotated[
        int, typer.Option(min=1, max=64, help="Drain shards per CRM (the same on every worker).")
    ] = 4,
    stalled_after: Annotated[
        float,
        typer.Option(min=2.0, help="Seconds without a heartbeat after which a worker's jobs are run again."),
    ] = 30.0,
    sync_shards: Annotated[
        int,
        typer.Option(
            min=1,
            max=256,
            help="Split the nightly sync into this many full-sync shards (1: the ordinary sync).",
        ),
    ] = 1,
    metrics_port: Annotated[
        int | None,
        typer.Option(
            min=0,
            max=65535,
            help="Answer /metrics on this loopback port (this process's counters, or with "
            "PROMETHEUS_MULTIPROC_DIR every process's sharing it).",
        ),
    ] = None,
    config: ConfigOption = None,
    store: StoreOption = None,
    as_of: AsOfOption = None,
) -> None:
    """Run webhook drains and the nightly sync as jobs from a PostgreSQL store; start one or more per machine."""
    from connector.commands.worker import work

    work(
        config=config,
        store_url=store,
        concurrency=concurrency,
        shards=shards,
        stalled_after_s=stalled_after,
        sync_shards=sync_shards,
        metrics_port=metrics_port,
        as_of=_parse_now(as_of, option="--as-of") if as_of is not None else None,
    )


queue_app = typer.Typer(help="The webhook queue: depth, dead letters, retries.", no_args_is_help=True)
app.add_typer(queue_app, name="queue")


@queue_app.command("show")
def queue_show(
    crm: Annotated[str | None, typer.Option("--crm", help="Only this CRM.", show_default=False)] = None,
    limit: Annotated[int, typer.Option(min=1, help="Dead letters to list.")] = 50,
    config: ConfigOption = None,
    store: StoreOption = None,
) -> None:
    """Queued events per CRM and status, and the oldest dead letters with their error codes."""
    from connector.commands.queue import show_queue

    show_queue(crm=crm, limit=limit, config=config, store_url=store)


@queue_app.command("retry")
def queue_retry(
    event_ids: Annotated[
        list[int] | None,
        typer.Argument(help="Dead event ids (default: every dead event).", show_default=False),
    ] = None,
    crm: Annotated[str | None, typer.Option("--crm", help="Only this CRM.", show_default=False)] = None,
    config: ConfigOption = None,
    store: StoreOption = None,
) -> None:
    """Queue dead events again with a fresh set of attempts."""
    from connector.commands.queue import retry_dead_letters

    retry_dead_letters(crm=crm, event_ids=event_ids or [], config=config, store_url=store)


@app.command()
def demo(
    contacts: Annotated[int, typer.Option(min=100, help="Contacts per CRM in the sandbox.")] = 20_000,
    changes: Annotated[
        int, typer.Option(min=1, help="Salespeople's edits per CRM before the incremental run.")
    ] = 300,
    store: Annotated[Path, typer.Option(help="SQLite file for the demo's store (replaced).")] = Path(
        "lawful-crm-demo.db"
    ),
    samples: Annotated[
        bool, typer.Option("--samples", help="Only explain the bundled sample contacts (no sandbox).")
    ] = False,
    now: NowOption = None,
    config: ConfigOption = None,
) -> None:
    """Run the whole product on the sandbox: install, full sync, user edits, incremental sync, in a minute. The
    configuration's \\[policy] and \\[sync] apply; its CRM tables and store do not."""
    if samples:
        from importlib.resources import files

        sample = files("connector") / "examples" / "contacts.jsonl"
        with _sample_path(sample) as path:
            explain(file=str(path), now=now, profile=None, config=config)
        return
    from connector.commands.common import settings_or_exit
    from connector.commands.demo import run_demo

    settings = settings_or_exit(config)
    today = _parse_now(now)
    run_demo(contacts=contacts, changes=changes, store_path=store.resolve(), today=today, settings=settings)


@contextmanager
def _sample_path(resource: object) -> Iterator[Path]:
    from importlib.resources import as_file

    with as_file(resource) as path:  # type: ignore[arg-type]
        yield path


def _hide_flag_types(command: Any) -> None:
    """A flag takes no value, so its help row shows none (typer would print ``<bool>``); ``--help`` too."""
    help_option = command.get_help_option(command.context_class(command))
    for param in [*command.params, help_option]:
        if getattr(param, "is_flag", False):
            param.metavar = ""
    for sub in getattr(command, "commands", {}).values():
        _hide_flag_types(sub)


def main() -> None:
    """Console-script entry point."""
    command = typer.main.get_command(app)
    _hide_flag_types(command)
    command(prog_name="lawful-crm")


if __name__ == "__main__":
    main()
