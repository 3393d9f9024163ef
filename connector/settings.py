"""Runtime configuration: ``lawful-crm.toml`` plus ``LAWFUL_CRM_*`` environment variables, read once at the edge.

Nested keys use a double underscore in the environment: ``LAWFUL_CRM_POLICY__PROFILE=legal_minimum``.

A relative path in the configuration file (``[store] url = "sqlite:///lawful-crm.db"``, ``mapping_file``,
``private_key_file``) is read against the directory of that file; one from the environment or a default is read
against the working directory (``connector.config_paths``).
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from connector.config_paths import SQLITE_URL, resolve_config_paths
from connector.errors import ConfigurationError
from connector.files import CONFIG_FILE_LIMIT, FileRefusedError, check_regular_file
from connector.models import Profile
from connector.policy import PolicySettings

__all__ = [
    "CONFIG_FILE",
    "DncConfig",
    "HubSpotConfig",
    "MetricsConfig",
    "PolicyConfig",
    "SalesforceConfig",
    "Settings",
    "StoreConfig",
    "SyncConfig",
    "WebhooksConfig",
    "load_settings",
]

CONFIG_FILE = Path("lawful-crm.toml")
DNC_KEY_FILE = "lawful-crm.dnc-key"


class PolicyConfig(BaseModel):
    """The ``[policy]`` table: the settings that change decisions (canonical-model.md)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    profile: Profile = Profile.CONSERVATIVE
    consent_max_idle_months: int = Field(24, ge=0)
    soft_opt_in_max_months: int = Field(36, ge=0)
    dnc_screen_max_age_days: int = Field(30, ge=0)
    uk_tps_grace_days: int = Field(28, ge=0)
    sender_is_charity_or_publisher: bool = False

    def to_policy(self, *, profile: Profile | None = None) -> PolicySettings:
        values = self.model_dump()
        if profile is not None:
            values["profile"] = profile
        return PolicySettings(**values)


class _Table(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SalesforceConfig(_Table):
    """The ``[salesforce]`` table: how to reach one org unattended, and how much of its quota to use.

    ``auth`` picks the flow: ``jwt`` (connected app + certificate: ``client_id``, ``username``,
    ``private_key_file``), ``client_credentials`` (``client_id``, ``client_secret``), ``refresh_token``
    (``client_id``, ``client_secret``, ``refresh_token``) or ``session`` (``session_id`` + ``instance_url``: the
    sandbox and tests).
    """

    auth: Literal["jwt", "client_credentials", "refresh_token", "session"] = "jwt"
    login_url: str = "https://login.salesforce.com"
    """Where tokens are requested (``https://test.salesforce.com`` for a Salesforce sandbox org)."""
    instance_url: str | None = None
    client_id: str | None = None
    client_secret: SecretStr | None = None
    username: str | None = None
    private_key_file: Path | None = None
    refresh_token: SecretStr | None = None
    session_id: SecretStr | None = None
    api_version: str = "59.0"
    org_id: str | None = None
    """The 15- or 18-character org id; Outbound Messages from any other org are refused."""
    integration_user_id: str | None = Field(None, pattern=r"^005[0-9A-Za-z]{12}([0-9A-Za-z]{3})?$")
    """The id of the user lawful-crm writes as (``005…``). An Outbound Message whose ``LastModifiedById`` is this
    user echoes lawful-crm's own write and is dropped before it is queued (include that field in the message)."""
    mapping_file: Path | None = None
    timeout_s: float = Field(30.0, gt=0)
    quota_reserve: float = Field(0.2, ge=0, lt=1)
    """Share of the org's daily API requests left for other integrations."""
    bulk_threshold: int = Field(10_000, ge=1)
    """A full pull of an object with more records than this (one COUNT() query) runs as a Bulk API 2.0 query
    job; the run then writes its changes in Bulk update jobs too."""
    bulk_write_threshold: int = Field(2_000, ge=1)
    """A run with more changes than this writes them in Bulk API 2.0 update jobs (a handful of requests each),
    fewer through sObject Collections (200 a call): Salesforce advises Bulk above 2,000 records. A run holds
    each object's changes until it knows which way they go (their audit entries are pending meanwhile)."""
    bulk_poll_s: int = Field(5, ge=0)
    """How often, in seconds, a Bulk API 2.0 job is asked whether it has finished."""
    page_size: int = Field(2000, ge=200, le=2000)
    overlap_s: int = Field(300, ge=0)
    """How far before the cursor an incremental pull starts again (late commits of SystemModstamp)."""

    @model_validator(mode="after")
    def _credentials_for_the_flow(self) -> SalesforceConfig:
        needed = {
            "jwt": ("client_id", "username", "private_key_file"),
            "client_credentials": ("client_id", "client_secret"),
            "refresh_token": ("client_id", "client_secret", "refresh_token"),
            "session": ("session_id", "instance_url"),
        }[self.auth]
        missing = [name for name in needed if getattr(self, name) is None]
        if missing:
            raise ValueError(f"auth = {self.auth!r} needs {', '.join(missing)}")
        return self


class HubSpotConfig(_Table):
    """The ``[hubspot]`` table: a private-app token, or OAuth (client id, secret, refresh token)."""

    base_url: str = "https://api.hubapi.com"
    access_token: SecretStr | None = None
    client_id: str | None = None
    client_secret: SecretStr | None = None
    """Also the key of the v3 webhook signatures."""
    refresh_token: SecretStr | None = None
    app_id: int | None = None
    """The app whose own property changes are ignored by the webhook receiver (no echo loops)."""
    portal_id: int | None = None
    mapping_file: Path | None = None
    timeout_s: float = Field(30.0, gt=0)
    per_ten_seconds: int = Field(100, ge=1)
    """The app's rolling rate limit (100 or 190); the adapter keeps below it."""
    search_per_second: int = Field(5, ge=1)
    overlap_s: int = Field(300, ge=0)

    @model_validator(mode="after")
    def _a_token_or_oauth(self) -> HubSpotConfig:
        oauth = (self.client_id, self.client_secret, self.refresh_token)
        if self.access_token is None and any(value is None for value in oauth):
            raise ValueError("set access_token (private app), or client_id, client_secret and refresh_token")
        return self


class StoreConfig(_Table):
    url: Annotated[str, SQLITE_URL] = "sqlite:///lawful-crm.db"
    """Any SQLAlchemy URL; SQLite runs in WAL mode. A relative SQLite path in the configuration file is read
    against that file's directory."""


class DncConfig(_Table):
    """The ``[dnc]`` table: where the key of the do-not-call number hashes lives (never in the store)."""

    key_file: Path = Path(DNC_KEY_FILE)
    """Created with mode 0600 by the first command that needs a key; refused when others may read it. Unset:
    ``lawful-crm.dnc-key`` beside the configuration file. ``LAWFUL_CRM_DNC_KEY`` wins over the file."""


class SyncConfig(_Table):
    guard_share: float = Field(0.05, ge=0, le=1)
    """Share of pulled records that may move from restrictive to permissive before a run is refused."""
    refused_retries: int = Field(3, ge=0, le=100)
    """How many runs in a row try again a record whose write the CRM refused (a validation rule, a required
    field, a duplicate rule) before it is parked until it changes."""
    time_zone: str = "Europe/Amsterdam"
    schedule: str = "0 2 * * *"
    """Cron expression of the nightly sync in ``time_zone``."""
    retention_months: int = Field(24, ge=1)


class WebhooksConfig(_Table):
    """The ``[webhooks]`` table of ``lawful-crm serve``: the receiver's checks and the worker's pace."""

    public_base_url: str | None = None
    """The URL prefix under which the CRMs reach this server (behind a proxy or TLS terminator); HubSpot signs
    the full URL it called. Unset: the request's own scheme and Host header."""
    max_body_bytes: int = Field(1_048_576, ge=1024)
    """Larger deliveries are refused with 413 while being read."""
    hubspot_accept_v2: bool = False
    """Also accept HubSpot's older v2 signature (no timestamp: only de-duplication stops a replay)."""
    salesforce_path_secret: SecretStr | None = Field(None, min_length=16)
    """The secret last segment of the Outbound Message URL: ``/webhooks/salesforce/<secret>``."""
    salesforce_signing_secret: SecretStr | None = Field(None, min_length=16)
    """The HMAC key of the signed JSON callout (``/webhooks/salesforce/signed``)."""
    run_worker: bool = True
    """Process the queue in this process; false only accepts and queues (a maintenance window)."""
    worker_batch: int = Field(500, ge=1, le=5000)
    """Events claimed per worker cycle (read from the CRM 100 (HubSpot) or 200 (Salesforce) ids at a time)."""
    max_attempts: int = Field(8, ge=1, le=100)
    """Attempts before an event moves to the dead letters (``lawful-crm queue retry`` revives them)."""
    lease_s: int = Field(300, ge=10)
    """How long a claimed event is reserved for its worker; a worker that died leaves it due again after."""
    poll_s: float = Field(1.0, gt=0, le=60)
    """How often the worker looks for due retries when nothing new arrives."""
    request_timeout_s: float = Field(10.0, gt=0, le=300)
    """A request must arrive whole (head and body) within this time of the connection opening or of the previous
    response; slower senders are disconnected (slowloris)."""
    keep_alive_s: int = Field(30, ge=1, le=600)
    """How long a connection may idle after a response (the CRMs reuse connections) before it is closed."""
    max_connections: int = Field(200, ge=1, le=100_000)
    """Open connections beyond this are answered 503 and closed; the CRMs deliver again later."""


class MetricsConfig(_Table):
    """The ``[metrics]`` table: where ``lawful-crm serve`` answers ``/metrics`` (Prometheus)."""

    port: int | None = Field(None, ge=0, le=65535)
    """Serve ``/metrics`` on this internal port instead of the webhook port (which then answers 404 there)."""
    host: str = "127.0.0.1"
    """The address of that port: loopback unless the scraper runs on another machine."""


class AlertsConfig(_Table):
    """The ``[alerts]`` table: where to say that a sync failed or was refused by the guard, that a register copy
    is stale, or that the review backlog grew (a Slack or Teams incoming webhook). Off when unset."""

    webhook_url: SecretStr | None = None
    """Receives ``{"text": ...}`` as a JSON POST; secret, since the URL itself admits the sender."""
    review_backlog_above: int | None = Field(None, ge=0)
    """Alert when more records of a CRM than this await review; unset: never."""


class AdminConfig(_Table):
    """The ``[admin]`` table: who may open the read-only page ``/admin`` of ``lawful-crm serve``. Neither a token
    nor a user set: the page is off (404)."""

    token: SecretStr | None = Field(None, min_length=16)
    """Sent as ``Authorization: Bearer <token>`` (scripts, a reverse proxy that adds it)."""
    username: str | None = None
    password: SecretStr | None = Field(None, min_length=12)
    """Basic auth, which a browser asks for: set both or neither."""

    @model_validator(mode="after")
    def _both_or_neither(self) -> AdminConfig:
        if (self.username is None) != (self.password is None):
            raise ValueError("set both admin.username and admin.password, or neither")
        return self

    @property
    def enabled(self) -> bool:
        return self.token is not None or self.username is not None


class _ConfigFileSource(TomlConfigSettingsSource):
    """The TOML source, with every relative path resolved against the directory of the file that set it."""

    def __init__(self, settings_cls: type[BaseSettings]) -> None:
        self._model = settings_cls
        super().__init__(settings_cls)

    def _read_file(self, file_path: Any) -> dict[str, Any]:
        try:
            check_regular_file(Path(file_path), limit_bytes=CONFIG_FILE_LIMIT, what="configuration file")
        except FileRefusedError as exc:
            raise ConfigurationError(str(exc)) from None
        try:
            data = super()._read_file(file_path)
        except tomllib.TOMLDecodeError as exc:  # its text names the line and column, never the content
            raise ConfigurationError(f"{file_path} is not valid TOML", problems=(str(exc),)) from None
        # The directory as named, with its symlinks and '..' resolved (the file itself may be a symlink).
        return resolve_config_paths(data, self._model, Path(file_path).absolute().parent.resolve())


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="LAWFUL_CRM_", env_nested_delimiter="__", extra="forbid", toml_file=CONFIG_FILE
    )

    policy: PolicyConfig = PolicyConfig()
    salesforce: SalesforceConfig | None = None
    hubspot: HubSpotConfig | None = None
    store: StoreConfig = StoreConfig()
    sync: SyncConfig = SyncConfig()
    webhooks: WebhooksConfig = WebhooksConfig()
    dnc: DncConfig = DncConfig()
    admin: AdminConfig = AdminConfig()
    alerts: AlertsConfig = AlertsConfig()
    metrics: MetricsConfig = MetricsConfig()
    dnc_key: SecretStr | None = None
    """The do-not-call hash key as 64 hexadecimal characters, from ``LAWFUL_CRM_DNC_KEY`` (a secrets manager);
    when unset the key file is used."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, _ConfigFileSource(settings_cls))


def load_settings(config_file: Path | None = None) -> Settings:
    """Read the configuration once; ``config_file`` replaces ``./lawful-crm.toml`` when given."""
    if config_file is None:
        return Settings()
    if not config_file.exists():
        raise FileNotFoundError(f"configuration file not found: {config_file}")
    try:
        check_regular_file(config_file, limit_bytes=CONFIG_FILE_LIMIT, what="configuration file")
    except FileRefusedError as exc:
        raise ConfigurationError(str(exc)) from None
    source_cls = type(
        "FileSettings", (Settings,), {"model_config": {**Settings.model_config, "toml_file": config_file}}
    )
    settings: Settings = source_cls()
    if "key_file" not in settings.dnc.model_fields_set:  # beside the configuration, wherever the command runs
        key_file = config_file.absolute().parent.resolve() / DNC_KEY_FILE
        settings.dnc = settings.dnc.model_copy(update={"key_file": key_file})
    return settings
