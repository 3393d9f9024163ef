"""Runtime configuration: ``lawful-crm.toml`` plus ``LAWFUL_CRM_*`` environment variables, read once at the edge.

Nested keys use a double underscore in the environment: ``LAWFUL_CRM_POLICY__PROFILE=legal_minimum``.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from connector.models import Profile
from connector.policy import PolicySettings

__all__ = ["CONFIG_FILE", "PolicyConfig", "Settings", "load_settings"]

CONFIG_FILE = Path("lawful-crm.toml")


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


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="LAWFUL_CRM_", env_nested_delimiter="__", extra="forbid", toml_file=CONFIG_FILE
    )

    policy: PolicyConfig = PolicyConfig()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls))


def load_settings(config_file: Path | None = None) -> Settings:
    """Read the configuration once; ``config_file`` replaces ``./lawful-crm.toml`` when given."""
    if config_file is None:
        return Settings()
    if not config_file.is_file():
        raise FileNotFoundError(f"configuration file not found: {config_file}")
    source_cls = type(
        "FileSettings", (Settings,), {"model_config": {**Settings.model_config, "toml_file": config_file}}
    )
    settings: Settings = source_cls()
    return settings
