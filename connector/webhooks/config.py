"""What the receiver checks, as plain values taken once from the settings and the mappings."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from connector.mapping.consent_records import CONSENT_OBJECT
from connector.mapping.own_fields import written_names
from connector.mapping.schema import MappingFile, WriteBack
from connector.settings import Settings
from connector.webhooks.events import HubSpotRules

__all__ = ["HubSpotReceiver", "ReceiverConfig", "SalesforceReceiver", "own_fields"]


@dataclass(frozen=True, slots=True)
class HubSpotReceiver:
    secret: str
    """The app's client secret: the key of the v3 (and v2) signatures."""
    rules: HubSpotRules
    accept_v2: bool = False


@dataclass(frozen=True, slots=True)
class SalesforceReceiver:
    org_id: str | None
    """Deliveries naming another org are refused; Outbound Messages are refused while it is unset."""
    object_types: frozenset[str]
    path_secret: str | None = None
    """The secret path segment of the Outbound Message endpoint; unset turns that endpoint off."""
    signing_secret: str | None = None
    """The key of the signed JSON callout; unset turns that endpoint off."""
    integration_user: str | None = None
    """The user lawful-crm writes as: Outbound Messages of changes it made are echoes, dropped at intake."""


@dataclass(frozen=True, slots=True)
class ReceiverConfig:
    hubspot: HubSpotReceiver | None
    salesforce: SalesforceReceiver | None
    public_base_url: str | None = None
    max_body_bytes: int = 1_048_576

    @classmethod
    def from_settings(
        cls, settings: Settings, mappings: Mapping[str, MappingFile], *, public_url: str | None = None
    ) -> ReceiverConfig:
        """The receiver of the configured CRMs; ``public_url`` (the CLI's --public-url) wins over the file."""
        hooks = settings.webhooks
        hubspot = salesforce = None
        if (
            settings.hubspot is not None
            and settings.hubspot.client_secret is not None
            and "hubspot" in mappings
        ):
            rules = HubSpotRules(
                own_properties=own_fields(mappings["hubspot"].writeback),
                app_id=settings.hubspot.app_id,
                portal_id=settings.hubspot.portal_id,
            )
            hubspot = HubSpotReceiver(
                settings.hubspot.client_secret.get_secret_value(), rules, accept_v2=hooks.hubspot_accept_v2
            )
        if settings.salesforce is not None and "salesforce" in mappings:
            salesforce = SalesforceReceiver(
                org_id=settings.salesforce.org_id,
                object_types=salesforce_object_types(mappings["salesforce"]),
                path_secret=_plain(hooks.salesforce_path_secret),
                signing_secret=_plain(hooks.salesforce_signing_secret),
                integration_user=settings.salesforce.integration_user_id,
            )
        return cls(
            hubspot=hubspot,
            salesforce=salesforce,
            public_base_url=public_url or hooks.public_base_url,
            max_body_bytes=hooks.max_body_bytes,
        )


def salesforce_object_types(mapping: MappingFile) -> frozenset[str]:
    """The objects whose Outbound Messages count: the mapped ones, and consent records when the mapping reads
    them (``data_use_purposes``)."""
    consent = (CONSENT_OBJECT,) if mapping.data_use_purposes else ()
    return frozenset((*mapping.objects, *consent))


def own_fields(writeback: WriteBack) -> frozenset[str]:
    """Every field lawful-crm writes: its own six and any mirrored standard field."""
    return frozenset(written_names(writeback))


def _plain(secret: object) -> str | None:
    value = getattr(secret, "get_secret_value", None)
    return None if value is None else str(value())
