"""``HubSpotCrm``: the CrmPort for HubSpot contacts, over the real hubspot-api-client.

Build it with ``HubSpotCrm.from_config(config, mapping)``; the sync then calls ``pull("contacts", since=…)``
(None for a full pull, else the last saved cursor), saves each page's cursor after handling the page (a page
without a cursor moves nothing), ``write(updates)`` for the changed flags, ``read("contacts", ids)`` for webhook
events, ``usage()`` for the run summary. See ``pull.py`` for the cursor semantics and ``records.py`` for the
field names (``company.<property>`` for the contact's company).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from connector.crm.hubspot.consents import StatusReader
from connector.crm.hubspot.describe import Catalogue
from connector.crm.hubspot.install import Installer
from connector.crm.hubspot.limiter import SYSTEM_CLOCK, CallLimiter, Clock
from connector.crm.hubspot.pull import ContactReader
from connector.crm.hubspot.records import OBJECT_TYPE, company_properties_of, contact_properties_of
from connector.crm.hubspot.session import HubSpotSession
from connector.crm.hubspot.write import ContactWriter
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
from connector.errors import ConfigurationError
from connector.mapping.own_fields import written_names
from connector.mapping.schema import MappingFile
from connector.mapping.subscriptions import SUBSCRIPTION_TYPES
from connector.settings import HubSpotConfig

__all__ = ["HubSpotCrm"]


class HubSpotCrm:
    """HubSpot contacts behind the CrmPort and CrmAdmin protocols; one instance per run and thread."""

    name = "hubspot"

    def __init__(
        self,
        session: HubSpotSession,
        mapping: MappingFile,
        *,
        overlap_s: int = 300,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        if mapping.crm != "hubspot":
            raise ConfigurationError(f"the HubSpot adapter needs a hubspot mapping, not {mapping.crm}")
        unsupported = sorted(set(mapping.objects) - {OBJECT_TYPE})
        if unsupported:
            raise ConfigurationError(f"the HubSpot adapter syncs contacts only, not {', '.join(unsupported)}")
        self.object_types: tuple[str, ...] = tuple(mapping.objects)
        self.session = session
        fields = [
            *(name for om in mapping.objects.values() for name in om.fields()),
            *_writeback_fields(mapping),
        ]
        self._catalogue = Catalogue(session)
        self.statuses = (
            StatusReader(session, email_properties=mapping.objects[OBJECT_TYPE].email)
            if mapping.subscriptions and OBJECT_TYPE in mapping.objects
            else None
        )
        """Subscription statuses, read when the mapping places subscription types."""
        self._reader = ContactReader(
            session,
            properties=contact_properties_of(fields),
            company_properties=company_properties_of(fields),
            overlap_s=overlap_s,
            checked_property=mapping.writeback.checked,
            clock=clock,
            statuses=self.statuses,
        )
        self._writer = ContactWriter(session, describe=self._catalogue.describe)
        self._installer = Installer(session, mapping.writeback)

    @classmethod
    def from_config(
        cls,
        config: HubSpotConfig,
        mapping: MappingFile,
        *,
        retry: RetryPolicy | None = None,
        clock: Clock = SYSTEM_CLOCK,
        limiter: CallLimiter | None = None,
    ) -> HubSpotCrm:
        """The adapter for the ``[hubspot]`` configuration and a loaded mapping (``limiter``: a call limit
        shared with other processes instead of this process's own)."""
        session = HubSpotSession.connect(config, retry=retry or RetryPolicy(), clock=clock, limiter=limiter)
        return cls(session, mapping, overlap_s=config.overlap_s, clock=clock)

    def pull(self, object_type: str, *, since: Cursor | None) -> Iterator[Page]:
        """Pages of contacts: all live ones when ``since`` is None, else deletions and changes since it."""
        self._check(object_type)
        if since is None:
            return read_ahead(self._reader.full(), name="hubspot-contact-pages")
        if since.object_type != object_type:
            raise ConfigurationError(f"a {since.object_type} cursor cannot resume a {object_type} pull")
        return read_ahead(self._reader.changed(since), name="hubspot-contact-pages")

    def read(self, object_type: str, ids: Sequence[str]) -> list[CrmRecord]:
        self._check(object_type)
        return self._reader.read(ids)

    def live_ids(self, object_type: str) -> Iterator[list[str]]:
        """The ids of every live contact, 200 a page (for reconciliation)."""
        self._check(object_type)
        return self._reader.live_ids()

    def write(self, updates: Sequence[FieldUpdate]) -> list[WriteOutcome]:
        return self._writer.write(updates)

    def install(self, *, dry_run: bool, uninstall: bool) -> InstallReport:
        report = self._installer.run(dry_run=dry_run, uninstall=uninstall)
        if not dry_run:
            self._catalogue.forget()
        return report

    def describe(self, object_type: str) -> dict[str, FieldInfo]:
        """The contact properties, and the account's subscription types as ``id:name`` values of the
        pseudo-field ``SUBSCRIPTION_TYPES`` when the mapping places types (one definitions read)."""
        self._check(object_type)
        described = self._catalogue.describe()
        if self.statuses is None:
            return described
        types = tuple(f"{key}:{name}" for key, name in sorted(self.statuses.types().items()))
        return {
            **described,
            SUBSCRIPTION_TYPES: FieldInfo(
                SUBSCRIPTION_TYPES, "subscription_types", writable=False, values=types
            ),
        }

    def value_counts(self, object_type: str, field: str) -> dict[str, int]:
        """Counts per option value: one search call per value (see ``describe.py``)."""
        self._check(object_type)
        return self._catalogue.value_counts(field)

    def usage(self) -> ApiUsage:
        s = self.session
        return ApiUsage(
            calls=s.calls, remaining=s.daily_remaining, limit=s.daily_limit, throttled=s.counter.throttled
        )

    def _check(self, object_type: str) -> None:
        if object_type not in self.object_types:
            raise ConfigurationError(f"the HubSpot mapping has no object {object_type}")


def _writeback_fields(mapping: MappingFile) -> list[str]:
    return list(written_names(mapping.writeback))
