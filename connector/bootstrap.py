"""The composition root: settings -> mapping, CRM adapters, store, policy. The only place concrete classes meet.

Adapters are imported here lazily, so commands that never talk to a CRM never pay for the vendor SDKs.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import ValidationError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from connector.config_paths import sqlite_file
from connector.crm.port import CrmAdapter
from connector.errors import ConfigurationError
from connector.mapping.load import load_mapping, validation_problems
from connector.mapping.schema import MappingFile
from connector.settings import Settings, load_settings
from connector.store import Store, open_store
from connector.store.problems import StoreUnavailableError, store_problem
from connector.sync.screening import PhoneScreener

if TYPE_CHECKING:
    from connector.crm.hubspot.limiter import CallLimiter
    from connector.dnc.keys import KeySource

__all__ = [
    "CRMS",
    "CrmName",
    "MappingFile",
    "Settings",
    "announce_new_store",
    "build_crm",
    "configured_crms",
    "describe_store",
    "dnc_key",
    "load",
    "mapping_for",
    "screening_for",
    "store_for",
    "store_is_new",
]

CrmName = Literal["salesforce", "hubspot"]
CRMS: tuple[CrmName, ...] = ("salesforce", "hubspot")


def load(config_file: Path | None = None) -> Settings:
    """Read and validate the configuration; every problem listed at once, no value (secrets!) echoed."""
    if config_file is not None and not config_file.exists():
        raise ConfigurationError(
            "the configuration file was not found",
            problems=(f"no such file: {config_file.absolute()} (check --config)",),
        )
    try:
        return load_settings(config_file)
    except ValidationError as exc:
        problems = validation_problems(exc, whole="configuration")
        raise ConfigurationError(
            f"{len(problems)} problem(s) in the configuration", problems=problems
        ) from None


def configured_crms(settings: Settings, choice: str) -> list[CrmName]:
    """The CRMs a command acts on: ``all`` means every CRM with a table in the configuration."""
    available = [name for name in CRMS if getattr(settings, name) is not None]
    if choice == "all":
        if not available:
            raise ConfigurationError(
                "no CRM is configured", problems=("add a [salesforce] or [hubspot] table to lawful-crm.toml",)
            )
        return available
    if choice not in CRMS:
        raise ConfigurationError(f"unknown CRM {choice!r}", problems=("use salesforce, hubspot or all",))
    if choice not in available:
        raise ConfigurationError(
            f"{choice} is not configured", problems=(f"add a [{choice}] table to lawful-crm.toml",)
        )
    return [choice]


def mapping_for(settings: Settings, crm: CrmName) -> MappingFile:
    """The admin's mapping file for ``crm`` when configured, else the shipped default."""
    table = getattr(settings, crm)
    return load_mapping(crm, table.mapping_file if table is not None else None)


def build_crm(
    settings: Settings, crm: CrmName, mapping: MappingFile, *, limiter: CallLimiter | None = None
) -> CrmAdapter:
    """The adapter of ``crm``; ``limiter``: HubSpot's call limit shared with other worker processes."""
    if crm == "salesforce":
        from connector.crm.salesforce import SalesforceCrm

        assert settings.salesforce is not None
        return SalesforceCrm.from_config(settings.salesforce, mapping)
    from connector.crm.hubspot import HubSpotCrm

    assert settings.hubspot is not None
    return HubSpotCrm.from_config(settings.hubspot, mapping, limiter=limiter)


def describe_store(url: str) -> str:
    """Where a store lives, fit for a message: an SQLite file's absolute path, else the URL with its password
    masked (never a secret in the output)."""
    file = sqlite_file(url)
    if file is not None:
        return str(file.absolute().parent.resolve() / file.name)
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unreadable store URL>"


def store_is_new(url: str) -> bool:
    """Whether opening ``url`` would create the store: its SQLite file does not exist yet, or a database
    server's database has no schema yet. An in-memory database is never announced: it cannot be the wrong one."""
    from connector.store.engine import create_store_engine, current_revision

    file = sqlite_file(url)
    if file is not None:
        return not file.exists()
    if url.startswith("sqlite"):
        return False
    engine = create_store_engine(url)
    try:
        return current_revision(engine) is None
    except SQLAlchemyError:
        return False  # unreachable: opening the store reports it
    finally:
        engine.dispose()


def announce_new_store(url: str) -> None:
    """One line on stderr naming a store just created: a wrong --config or working directory shows at once."""
    print(f"lawful-crm: created a new, empty store at {describe_store(url)}", file=sys.stderr)


def store_for(settings: Settings, url: str | None = None) -> Store:
    """Open the store (``url``, else ``[store] url``), migrated; say which one when this creates it. Raises
    StoreUnavailableError (a ConfigurationError) naming the store when it cannot be opened or written."""
    target = url or settings.store.url
    created = store_is_new(target)
    try:
        store = open_store(target)
        if created:
            announce_new_store(target)
        now = datetime.now(UTC)
        store.runs.close_abandoned(now=now, alive=lambda crm: store.locks.held(f"sync:{crm}", now=now))
    except SQLAlchemyError as error:  # a read-only or missing directory, a full disk, an unreachable server
        where = describe_store(target)
        cause = store_problem(error) or f"{type(error).__name__}"
        raise StoreUnavailableError(
            f"the store {where} cannot be opened: {cause}", problems=("check [store] url, or --store",)
        ) from None
    return store


def dnc_key(settings: Settings) -> KeySource:
    """Where the do-not-call hash key comes from: ``LAWFUL_CRM_DNC_KEY``, else ``[dnc] key_file``."""
    from connector.dnc.keys import KeySource

    value = settings.dnc_key.get_secret_value() if settings.dnc_key is not None else None
    return KeySource(file=settings.dnc.key_file.absolute(), value=value)


def screening_for(store: Store, settings: Settings) -> PhoneScreener:
    """The do-not-call screener of this store. It is used even before any register is imported, so that each
    record's hashed numbers are kept and a later import re-screens them from the store. Its key is read and
    checked here, so a command without the store's key stops before it starts (a ConfigurationError)."""
    from connector.dnc.registers import DncRegisters

    registers = DncRegisters(store, key=dnc_key(settings))
    registers.unlock()
    return registers
