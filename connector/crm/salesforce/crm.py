"""SalesforceCrm: the CrmPort for one Salesforce org, on the real simple-salesforce SDK.

Built by `from_config` from the `[salesforce]` table and the mapping (the sync's composition root calls this),
or from already-built parts. It owns one requests session (injected or its own) with a default timeout and a
quota meter on every call; a loopback `instance_url` or `login_url` (the sandbox started by `lawful-crm
sandbox`) is routed over plain HTTP without further set-up.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence

import requests

from connector.crm.bulkport import BulkUsage
from connector.crm.port import (
    ApiUsage,
    CrmRecord,
    Cursor,
    FieldInfo,
    FieldUpdate,
    InstallReport,
    Page,
    WriteOutcome,
)
from connector.crm.readahead import read_ahead
from connector.crm.retry import RetryPolicy
from connector.crm.salesforce.auth import LOOPBACK_LOGIN_DOMAIN, Token, authenticator
from connector.crm.salesforce.bulk import BulkMeter
from connector.crm.salesforce.bulk_pull import BulkPuller
from connector.crm.salesforce.connection import Connection
from connector.crm.salesforce.consent import ConsentReader
from connector.crm.salesforce.describe import Describer
from connector.crm.salesforce.fields import object_fields, own_fields
from connector.crm.salesforce.install import Installer
from connector.crm.salesforce.list_views import ReviewQueue
from connector.crm.salesforce.pull import Reader
from connector.crm.salesforce.quota import QuotaMeter
from connector.crm.salesforce.transport import is_loopback, meter_session, route_loopback
from connector.crm.salesforce.write import COLLECTION_SIZE, Writer
from connector.errors import ConfigurationError
from connector.mapping.consent_records import PARTY_OBJECT
from connector.mapping.schema import MappingFile
from connector.settings import SalesforceConfig

__all__ = ["SalesforceCrm"]

logging.getLogger("simple_salesforce").setLevel(logging.WARNING)


class SalesforceCrm:
    """Contacts and leads of one Salesforce org, for a sync and the admin commands (CrmPort, CrmAdmin)."""

    name = "salesforce"

    def __init__(
        self,
        connection: Connection,
        mapping: MappingFile,
        config: SalesforceConfig,
        *,
        bulk_poll_s: int | None = None,
    ) -> None:
        if mapping.crm != "salesforce":
            raise ConfigurationError(f"the mapping is for {mapping.crm}, not salesforce")
        self.connection, self.mapping, self.config = connection, mapping, config
        self.object_types: tuple[str, ...] = tuple(mapping.objects)
        for object_type in self.object_types:
            object_fields(mapping, object_type)  # every name checked before the first call
        self._describer = Describer(connection, mapping)
        self._consents = ConsentReader(connection, unreadable=self._describer.unreadable)
        self._reader = Reader(
            connection, mapping, page_size=config.page_size, overlap_s=config.overlap_s,
            unreadable=self._describer.unreadable, consents=self._consents,
        )  # fmt: skip
        poll_s = config.bulk_poll_s if bulk_poll_s is None else bulk_poll_s
        self.bulk_write_threshold = config.bulk_write_threshold
        self.write_batch = COLLECTION_SIZE
        self._bulk = BulkMeter()
        self._reader.bulk_threshold = config.bulk_threshold
        self._reader.bulk = BulkPuller(
            connection, self._bulk, page_size=config.page_size, poll_s=poll_s,
            describe=self._describer.describe,
        )  # fmt: skip
        self._writer = Writer(
            connection, own_fields=own_fields(mapping),
            bulk_write_threshold=config.bulk_write_threshold, unwritable=self._describer.unwritable,
            bulk_poll_s=poll_s, meter=self._bulk,
        )  # fmt: skip
        self._installer = Installer(
            connection, mapping, username=config.username, on_change=self._describer.forget,
            queue=ReviewQueue(connection, mapping.writeback, api_version=config.api_version),
        )  # fmt: skip

    @classmethod
    def from_config(
        cls,
        config: SalesforceConfig,
        mapping: MappingFile,
        *,
        session: requests.Session | None = None,
        retry: RetryPolicy | None = None,
        bulk_poll_s: int | None = None,
    ) -> SalesforceCrm:
        """An adapter for the configured org; no call is made until the first operation.

        `session` is used as given (its adapters keep working) with the timeout and the quota meter added;
        `bulk_poll_s` replaces ``[salesforce] bulk_poll_s``, how often a Bulk API 2.0 job is polled.
        """
        session = session or requests.Session()
        meter = QuotaMeter(reserve=config.quota_reserve)
        timeout = config.timeout_s
        meter_session(session, timeout=timeout, meter=meter)

        def route(origin: str, target: str) -> None:
            route_loopback(session, origin=origin, target=target, timeout=timeout, meter=meter)

        if config.instance_url and is_loopback(config.instance_url):
            route(_https(config.instance_url), config.instance_url)
        if is_loopback(config.login_url):
            route(f"https://{LOOPBACK_LOGIN_DOMAIN}.salesforce.com", config.login_url)

        def on_login(token: Token) -> None:
            if is_loopback(token.instance):
                route(f"https://{token.instance}", f"http://{token.instance}")

        connection = Connection(
            session=session, authenticator=authenticator(config), meter=meter, retry=retry or RetryPolicy(),
            api_version=config.api_version, on_login=on_login,
        )  # fmt: skip
        return cls(connection, mapping, config, bulk_poll_s=bulk_poll_s)

    def pull(self, object_type: str, *, since: Cursor | None) -> Iterator[Page]:
        """Pages of records changed after `since`, oldest first, deletions included; resume from any page cursor."""
        return read_ahead(self._reader.pull(object_type, since), name=f"salesforce-{object_type}-pages")

    def read(self, object_type: str, ids: Sequence[str]) -> list[CrmRecord]:
        """The current state of the given records (200 ids per query); missing ids are left out.

        Individual ids (`PARTY_OBJECT`, what a change to a consent record names) read the contacts and leads
        of those Individuals instead, one more query per mapped object."""
        if object_type == PARTY_OBJECT:
            people = self._consents.people(self.object_types, ids)
            return [record for kind, found in people.items() for record in self._reader.read(kind, found)]
        return self._reader.read(object_type, ids)

    def live_ids(self, object_type: str) -> Iterator[list[str]]:
        """The ids of every live record in the object's scope, 2,000 a page (for reconciliation)."""
        return self._reader.live_ids(object_type)

    def write(self, updates: Sequence[FieldUpdate]) -> list[WriteOutcome]:
        """Write the connector's own fields; one outcome per update, same order."""
        return self._writer.write(updates)

    def write_bulk(self, updates: Sequence[FieldUpdate]) -> list[WriteOutcome]:
        """Write through Bulk API 2.0 update jobs whatever the number (a run's buffered changes)."""
        return self._writer.write(updates, bulk=True)

    def finish_writes_in_flight(self) -> int:
        """End the update jobs a stopped run left: abort the unsent, wait for the queued (see Writer)."""
        return self._writer.finish_in_flight(self.object_types)

    def bulk_usage(self) -> BulkUsage:
        """Bulk API 2.0 calls, jobs and polls so far, and each transfer's choice of REST or Bulk."""
        meter = self._bulk
        return BulkUsage(meter.calls, meter.jobs, meter.polls, tuple(meter.transfers), pulls=meter.pulls)

    def install(self, *, dry_run: bool, uninstall: bool) -> InstallReport:
        """Create (or remove) the write-back fields and their permission set; idempotent."""
        return self._installer.run(dry_run=dry_run, uninstall=uninstall)

    def describe(self, object_type: str) -> dict[str, FieldInfo]:
        """The object's fields, the mapped parent fields and the computed won-deal date."""
        return self._describer.describe(object_type)

    def value_counts(self, object_type: str, field: str) -> dict[str, int]:
        """How many records hold each non-empty value of `field` (one aggregate query)."""
        return self._describer.value_counts(object_type, field)

    def usage(self) -> ApiUsage:
        """HTTP calls made by this adapter, and the org's remaining daily requests when known."""
        return self.connection.meter.usage()


def _https(url: str) -> str:
    """The https:// origin simple-salesforce builds for an instance URL (it keeps host and port only)."""
    netloc = url.split("//", 1)[-1].split("/", 1)[0]
    return f"https://{netloc}"
