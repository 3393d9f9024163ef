"""The composition root: settings -> mapping, CRM adapters, store, policy. The only place concrete classes meet.

``build(settings)`` gives the ``App``: each CRM's mapping, adapter and pipeline, the store, the do-not-call
registers, and a sync under the CRM's lease. Commands, the webhook worker and the schedule take their parts from
it, so each is assembled one way only. Adapters, the store and the database library are imported lazily, so
commands that never talk to a CRM never pay for the vendor SDKs, and ``classify`` not for the store.
"""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Protocol, get_args

from pydantic import ValidationError

from connector.config_paths import sqlite_file
from connector.errors import ConfigurationError
from connector.mapping.load import load_mapping, validation_problems
from connector.mapping.schema import MappingFile
from connector.models import CrmName
from connector.settings import Settings, load_settings

if TYPE_CHECKING:
    from connector.crm.hubspot.limiter import CallLimiter
    from connector.crm.port import CrmAdapter
    from connector.dnc.keys import KeySource
    from connector.dnc.registers import DncRegisters
    from connector.policy import PolicySettings
    from connector.store import Store
    from connector.sync.pipeline import ChangeSink, Pipeline
    from connector.sync.run import Progress, SyncOptions, SyncResult
    from connector.sync.screening import PhoneScreener

__all__ = [
    "ADAPTERS",
    "CRMS",
    "AdapterFactory",
    "App",
    "CrmName",
    "MappingFile",
    "Settings",
    "announce_new_store",
    "build",
    "build_crm",
    "configured_crms",
    "crm_name",
    "describe_store",
    "dnc_key",
    "load",
    "mapping_for",
    "screening_for",
    "store_for",
    "store_is_new",
]

CRMS: tuple[CrmName, ...] = get_args(CrmName)


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
        raise ConfigurationError(f"unknown CRM {choice!r}", problems=(f"use {', '.join(CRMS)} or all",))
    if choice not in available:
        raise ConfigurationError(
            f"{choice} is not configured", problems=(f"add a [{choice}] table to lawful-crm.toml",)
        )
    return [choice]


def mapping_for(settings: Settings, crm: CrmName) -> MappingFile:
    """The admin's mapping file for ``crm`` when configured, else the shipped default."""
    table = getattr(settings, crm)
    return load_mapping(crm, table.mapping_file if table is not None else None)


def crm_name(name: str) -> CrmName:
    """``name`` as a CRM the connector knows; any other name is refused (a ConfigurationError), never guessed."""
    for known in CRMS:
        if name == known:
            return known
    raise ConfigurationError(f"unknown CRM {name!r}", problems=(f"use {' or '.join(CRMS)}",))


class AdapterFactory(Protocol):
    """Builds one CRM's adapter from the settings and its mapping (the SDK is imported only when called)."""

    def __call__(
        self, settings: Settings, mapping: MappingFile, *, limiter: CallLimiter | None = None
    ) -> CrmAdapter: ...


def _not_configured(crm: CrmName) -> ConfigurationError:
    return ConfigurationError(
        f"{crm} is not configured", problems=(f"add a [{crm}] table to lawful-crm.toml",)
    )


def _salesforce(
    settings: Settings, mapping: MappingFile, *, limiter: CallLimiter | None = None
) -> CrmAdapter:
    from connector.crm.salesforce import SalesforceCrm

    if settings.salesforce is None:
        raise _not_configured("salesforce")
    return SalesforceCrm.from_config(settings.salesforce, mapping)


def _hubspot(settings: Settings, mapping: MappingFile, *, limiter: CallLimiter | None = None) -> CrmAdapter:
    from connector.crm.hubspot import HubSpotCrm

    if settings.hubspot is None:
        raise _not_configured("hubspot")
    return HubSpotCrm.from_config(settings.hubspot, mapping, limiter=limiter)


ADAPTERS: Mapping[CrmName, AdapterFactory] = MappingProxyType(
    {"salesforce": _salesforce, "hubspot": _hubspot}
)
"""Each CRM's adapter, keyed by its name: a new CRM adds its name to ``CrmName`` and its factory here."""


def build_crm(
    settings: Settings, crm: str, mapping: MappingFile, *, limiter: CallLimiter | None = None
) -> CrmAdapter:
    """The adapter of ``crm``; ``limiter``: HubSpot's call limit shared with other worker processes."""
    return ADAPTERS[crm_name(crm)](settings, mapping, limiter=limiter)


def describe_store(url: str) -> str:
    """Where a store lives, fit for a message: an SQLite file's absolute path, else the URL with its password
    masked (never a secret in the output)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

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
    from sqlalchemy.exc import SQLAlchemyError

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
    StoreOpenError (a ConfigurationError) naming the store when it cannot be opened or written."""
    from sqlalchemy.exc import SQLAlchemyError

    from connector.store import open_store
    from connector.store.problems import StoreOpenError, store_problem
    from connector.sync.lease import lease_name

    target = url or settings.store.url
    created = store_is_new(target)
    try:
        store = open_store(target)
        if created:
            announce_new_store(target)
        now = datetime.now(UTC)
        store.runs.close_abandoned(now=now, alive=lambda crm: store.locks.held(lease_name(crm), now=now))
    except SQLAlchemyError as error:  # a read-only or missing directory, a full disk, an unreachable server
        where = describe_store(target)
        cause = store_problem(error) or f"{type(error).__name__}"
        raise StoreOpenError(
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


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _owner(role: str | None = None) -> str:
    """``host:pid[:role]``: how the leases a process holds name it (``store.locks`` frees a dead one's)."""
    return f"{socket.gethostname()}:{os.getpid()}" + (f":{role}" if role else "")


@dataclass(eq=False)
class App:
    """The connector wired from its settings. Parts are built when first asked for: ``install`` opens no store,
    ``dnc status`` reads no hash key, a command on one CRM never loads the other's SDK."""

    settings: Settings
    store_url: str | None = None
    """The store to open instead of ``[store] url`` (``--store``)."""
    owner: str = field(default_factory=_owner)
    """Who holds the sync leases this process takes (``host:pid[:role]``)."""
    adapters: Mapping[CrmName, AdapterFactory] = field(default_factory=lambda: ADAPTERS)
    clock: Callable[[], datetime] = _utc_now
    opened_store: Store | None = field(default=None, repr=False)
    """A store already open to use instead (the demo's, tests'); the App closes it with its own."""
    _mappings: dict[CrmName, MappingFile] = field(default_factory=dict, init=False, repr=False)
    _held: set[str] = field(default_factory=set, init=False, repr=False)

    def crms(self, choice: str = "all") -> list[CrmName]:
        """The CRMs a command acts on (``all``: every configured one)."""
        return configured_crms(self.settings, choice)

    def mapping(self, crm: str) -> MappingFile:
        """``crm``'s mapping file (the admin's when configured, else the shipped one), read once."""
        name = crm_name(crm)
        if name not in self._mappings:
            self._mappings[name] = mapping_for(self.settings, name)
        return self._mappings[name]

    def crm(self, crm: str, *, limiter: CallLimiter | None = None) -> CrmAdapter:
        """A new adapter of ``crm`` (a ConfigurationError when it has no settings table)."""
        name = crm_name(crm)
        return self.adapters[name](self.settings, self.mapping(name), limiter=limiter)

    @property
    def policy(self) -> PolicySettings:
        return self.settings.policy.to_policy()

    @property
    def store(self) -> Store:
        """The store, opened and migrated on first use (a ConfigurationError when it cannot be)."""
        if self.opened_store is None:
            self.opened_store = store_for(self.settings, self.store_url)
        return self.opened_store

    @cached_property
    def registers(self) -> DncRegisters:
        """The do-not-call registers and own list of the store; their hash key is read when first needed."""
        from connector.dnc.registers import DncRegisters

        return DncRegisters(self.store, key=dnc_key(self.settings))

    def screener(self) -> PhoneScreener:
        """The registers with their key read and checked now: a command without the store's key stops before it
        starts (a ConfigurationError). Used even before any register is imported, so that each record's hashed
        numbers are kept and a later import re-screens them from the store."""
        self.registers.unlock()
        return self.registers

    def pipeline(self, crm: str, *, limiter: CallLimiter | None = None) -> Pipeline:
        """What the webhook worker runs for ``crm``'s records: facts, decision, plan, write, audit (``limiter``:
        a call limit shared with other processes, as ``crm`` takes it)."""
        from connector.mapping.facts import CompiledMapping
        from connector.sync.pipeline import Pipeline

        adapter = self.crm(crm, limiter=limiter)
        compiled = CompiledMapping(self.mapping(crm))
        return Pipeline(adapter, compiled, self.policy, self.store, self.screener())

    def sync(
        self,
        crm: str,
        options: SyncOptions,
        *,
        progress: Progress | None = None,
        on_change: ChangeSink | None = None,
        limiter: CallLimiter | None = None,
    ) -> SyncResult:
        """Sync ``crm`` once under its store lease, the guard share and refused retries from ``[sync]``. Raises
        SyncAlreadyRunning when another sync of ``crm`` holds the lease, ConfigurationError before the run when a
        part is missing."""
        from connector.mapping.facts import CompiledMapping
        from connector.sync.lease import sync_lease
        from connector.sync.run import run_sync

        name = crm_name(crm)
        sync = self.settings.sync
        options = replace(options, guard_share=sync.guard_share, refused_retries=sync.refused_retries)
        with sync_lease(self.store, name, self.owner, now=self.clock()) as lease:
            self._held.add(lease)
            try:
                screener = self.screener()
                adapter = self.crm(name, limiter=limiter)
                compiled = CompiledMapping(self.mapping(name))
                return run_sync(
                    adapter, compiled, self.policy, self.store, options,
                    clock=self.clock, progress=progress, on_change=on_change, screener=screener,
                )  # fmt: skip
            finally:
                self._held.discard(lease)

    def release_held(self) -> None:
        """Give up the leases of syncs still running when the process stops (the next run resumes)."""
        for lease in list(self._held):
            self.store.locks.release(lease, self.owner)

    def close(self) -> None:
        """Close the store, if it was opened."""
        if self.opened_store is not None:
            self.opened_store.close()


def build(
    settings: Settings,
    *,
    store_url: str | None = None,
    store: Store | None = None,
    role: str | None = None,
    adapters: Mapping[CrmName, AdapterFactory] = ADAPTERS,
    clock: Callable[[], datetime] = _utc_now,
) -> App:
    """The App of ``settings``: its store is ``store`` when given, else ``store_url`` or ``[store] url`` opened
    on first use; ``role`` names this process in the leases it holds (``host:pid:role``); ``adapters`` replace
    the CRM adapters (tests' fakes)."""
    return App(
        settings, store_url=store_url, owner=_owner(role), adapters=adapters, clock=clock, opened_store=store
    )
