"""``lawful-crm doctor``: what stands between this configuration and a working connector, checked in one go.

The configuration; per CRM its mapping file, the connection and what the credentials may read, the connector's
own fields and the mapping against the org; the store's location and migrations (read, never applied here); the
age of each do-not-call register copy; and why each webhook endpoint and the admin page are on or off. Every check
is printed with ``ok``, ``warn`` or ``FAIL``; nothing is changed. Exit 0 when nothing failed, 1 when a check
failed, 2 when the configuration itself is invalid.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import typer
from rich.console import Console
from rich.markup import escape

from connector import bootstrap
from connector.commands.admin import SYNTHETIC_FIELDS
from connector.commands.common import configure_logging, settings_or_exit
from connector.errors import AuthenticationError, ConfigurationError, ConnectorError
from connector.mapping.schema import MappingFile
from connector.settings import Settings

__all__ = ["Check", "doctor", "webhook_checks"]

Status = Literal["ok", "warn", "FAIL"]
_STYLE = {"ok": "green", "warn": "yellow", "FAIL": "bold red"}


@dataclass(frozen=True, slots=True)
class Check:
    area: str
    status: Status
    message: str


def _crm_checks(settings: Settings, name: bootstrap.CrmName) -> list[Check]:
    """The mapping file, the connection (schema read), the own fields and the mapping against the org."""
    from connector.mapping.check import check_mapping

    try:
        mapping: MappingFile = bootstrap.mapping_for(settings, name)
    except ConfigurationError as error:
        return [Check(f"{name} mapping", "FAIL", f"{error} {'; '.join(error.problems)}".strip())]
    checks = [Check(f"{name} mapping", "ok", f"the mapping file is valid ({len(mapping.objects)} objects)")]
    try:
        adapter = bootstrap.build_crm(settings, name, mapping)
        described = {obj: adapter.describe(obj) for obj in mapping.objects}
    except AuthenticationError as error:
        return [*checks, Check(f"{name} connection", "FAIL", f"the credentials were refused: {error}")]
    except ConnectorError as error:
        return [*checks, Check(f"{name} connection", "FAIL", f"{type(error).__name__}: {error}")]
    objects = ", ".join(mapping.objects)
    checks.append(Check(f"{name} connection", "ok", f"connected; the credentials may read {objects}"))
    try:
        report = adapter.install(dry_run=True, uninstall=False)
    except ConnectorError as error:
        checks.append(Check(f"{name} own fields", "FAIL", f"{type(error).__name__}: {error}"))
    else:
        if report.problems:
            first = "; ".join(str(problem) for problem in report.problems[:3])
            checks.append(Check(f"{name} own fields", "FAIL", first))
        elif report.created:
            checks.append(
                Check(
                    f"{name} own fields",
                    "warn",
                    f"{len(report.created)} missing: run lawful-crm install --crm {name}",
                )
            )
        else:
            checks.append(Check(f"{name} own fields", "ok", "installed"))
    fields_missing = checks[-1].status != "ok"
    try:
        problems = check_mapping(mapping, described, adapter.value_counts, synthetic=SYNTHETIC_FIELDS)
        if fields_missing:  # already said: the own fields are missing
            problems = [problem for problem in problems if problem.kind != "missing_writeback"]
    except ConnectorError as error:
        checks.append(Check(f"{name} mapping vs org", "FAIL", f"{type(error).__name__}: {error}"))
    else:
        if problems:
            shown = "; ".join(str(problem) for problem in problems[:3])
            more = f" (and {len(problems) - 3} more: lawful-crm mappings check)" if len(problems) > 3 else ""
            checks.append(
                Check(f"{name} mapping vs org", "warn", f"{len(problems)} problem(s): {shown}{more}")
            )
        else:
            checks.append(Check(f"{name} mapping vs org", "ok", "every mapped field and value is in the org"))
    return checks


def _store_checks(settings: Settings, url: str | None) -> list[Check]:
    """Where the store is and whether its migrations are applied; then the register copies it holds."""
    from sqlalchemy.exc import SQLAlchemyError

    from connector.admin.overview import register_status
    from connector.store.engine import HEAD, create_store_engine, current_revision

    target = url or settings.store.url
    where = bootstrap.describe_store(target)
    if bootstrap.store_is_new(target):
        return [
            Check(
                "store",
                "warn",
                f"no store at {where} yet: the first sync (or lawful-crm db upgrade) creates it",
            )
        ]
    engine = create_store_engine(target)
    try:
        revision = current_revision(engine)
        if revision != HEAD:
            return [
                Check(
                    "store", "warn", f"{where} is at revision {revision or 'none'}: run lawful-crm db upgrade"
                )
            ]
        checks = [Check("store", "ok", f"{where}, migrations current ({HEAD})")]
        for register in register_status(engine, datetime.now(UTC).date()):
            if register.legacy:
                continue
            name = f"register {register.list.value}"
            if not register.imported:
                status: Status = "ok" if register.max_age_days is None else "warn"
                checks.append(Check(name, status, "never imported"))
            elif register.stale:
                checks.append(
                    Check(
                        name,
                        "warn",
                        f"{register.age_days} days old, more than {register.max_age_days}: import a new copy",
                    )
                )
            else:
                checks.append(Check(name, "ok", f"{register.size:,} numbers, {register.age_days} days old"))
        return checks
    except SQLAlchemyError as error:
        return [Check("store", "FAIL", f"{where} cannot be read ({type(error).__name__})")]
    finally:
        engine.dispose()


def webhook_checks(settings: Settings, names: list[bootstrap.CrmName]) -> list[Check]:
    """Each endpoint of ``serve`` and why it is on or off."""
    hooks = settings.webhooks
    checks = []
    if "hubspot" not in names:
        checks.append(Check("webhook /webhooks/hubspot", "ok", "off: HubSpot is not configured"))
    elif settings.hubspot is not None and settings.hubspot.client_secret is not None:
        checks.append(
            Check("webhook /webhooks/hubspot", "ok", "on: v3 signatures checked with [hubspot] client_secret")
        )
    else:
        checks.append(
            Check(
                "webhook /webhooks/hubspot",
                "warn",
                "off: set [hubspot] client_secret (the app's secret) to receive events",
            )
        )
    salesforce = settings.salesforce if "salesforce" in names else None
    outbound, signed = "webhook /webhooks/salesforce/<secret>", "webhook /webhooks/salesforce/signed"
    if salesforce is None:
        checks.append(Check(outbound, "ok", "off: Salesforce is not configured"))
    elif hooks.salesforce_path_secret is None:
        checks.append(
            Check(outbound, "warn", "off: set [webhooks] salesforce_path_secret for Outbound Messages")
        )
    elif salesforce.org_id is None:
        checks.append(
            Check(outbound, "warn", "off: set [salesforce] org_id (messages of other orgs are refused)")
        )
    else:
        checks.append(Check(outbound, "ok", f"on: Outbound Messages of org {salesforce.org_id}"))
    if salesforce is not None and hooks.salesforce_signing_secret is not None:
        checks.append(Check(signed, "ok", "on: signed with [webhooks] salesforce_signing_secret"))
    else:
        checks.append(
            Check(
                signed, "ok", "off: set [webhooks] salesforce_signing_secret to accept Apex or Flow callouts"
            )
        )
    admin = (
        "on: token or basic auth of [admin]"
        if settings.admin.enabled
        else "off: set [admin] token to open it"
    )
    checks.append(Check("page /admin", "ok", admin))
    return checks


def doctor(*, config: Path | None, store_url: str | None) -> None:
    configure_logging()
    console = Console(highlight=False)
    if not console.is_terminal:
        console = Console(highlight=False, width=200)  # piped: each check on one line
    settings = settings_or_exit(config)
    source = config or (Path("lawful-crm.toml") if Path("lawful-crm.toml").exists() else None)
    checks = [
        Check("configuration", "ok", f"{source or 'no file: defaults and LAWFUL_CRM_* variables'} is valid")
    ]
    names: list[bootstrap.CrmName] = [name for name in bootstrap.CRMS if getattr(settings, name) is not None]
    if not names:
        checks.append(
            Check("crms", "FAIL", "no [salesforce] or [hubspot] table: lawful-crm init writes one to fill in")
        )
    for name in names:
        checks += _crm_checks(settings, name)
    checks += _store_checks(settings, store_url)
    checks += webhook_checks(settings, names)
    width = max(len(check.area) for check in checks)
    for check in checks:
        console.print(
            f"[{_STYLE[check.status]}]{check.status:>4}[/]  {escape(check.area.ljust(width))}  {escape(check.message)}"
        )
    failed = sum(check.status == "FAIL" for check in checks)
    warned = sum(check.status == "warn" for check in checks)
    console.print(f"{failed} failed, {warned} warning(s), {len(checks) - failed - warned} ok")
    if failed:
        raise typer.Exit(code=1)
