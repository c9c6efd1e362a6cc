"""Settings from the environment and `.env`, prefixed `MAKERBUS_`.

Every setting is documented in `.env.example`. Outside dev mode a process refuses to start while
a secret it uses is empty or still the published development default: each command asks for
the secrets it needs (`require_secrets`), so a container holds only its own.
"""

from __future__ import annotations

from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SECRET = "dev-only-not-a-secret"  # noqa: S105 - the published default, refused outside dev
BROKER_SECRET_FIELDS = (
    "broker_admin_password",
    "broker_handler_password",
    "broker_monitor_password",
)
WEB_SECRET_FIELDS = ("session_secret", "oidc_client_secret")
SECRET_FIELDS = BROKER_SECRET_FIELDS + WEB_SECRET_FIELDS
# The session key signs HS256 tokens: shorter than 256 bits would make it the weakest link.
MIN_SECRET_LENGTH = {"session_secret": 32}
MAX_SLOTS = 256


class Environment(StrEnum):
    DEV = "dev"
    PRODUCTION = "production"


class UnsafeSettingsError(RuntimeError):
    """A secret is empty or a published default while not in dev mode."""


Port = Annotated[int, Field(ge=0, le=65535)]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="MAKERBUS_", env_file=".env", extra="ignore", frozen=True
    )

    env: Environment = Environment.PRODUCTION
    database_url: str = "sqlite:///var/makerbus.db"

    mqtt_host: str = "127.0.0.1"
    mqtt_port: Port = 1883
    mqtt_ca_file: Path | None = None
    topic_prefix: str = Field(default="mkr/v1", pattern=r"^[A-Za-z0-9_-]+(/[A-Za-z0-9_-]+)*$")
    share_group: str = Field(default="makerbus", pattern=r"^[A-Za-z0-9_-]+$")
    device_mqtt_host: str | None = None
    device_mqtt_port: Port | None = None

    broker_admin_username: str = "makerbus-admin"
    broker_admin_password: str = DEV_SECRET
    broker_handler_username: str = "makerbus-handlers"
    broker_handler_password: str = DEV_SECRET
    broker_monitor_username: str = "makerbus-monitor"
    broker_monitor_password: str = DEV_SECRET
    # Each account is bound to one client id (its own name): processes of one kind running at
    # once need an account each, `<username>-1` … `-<slots>`, all with that kind's password.
    broker_handler_slots: int = Field(default=8, ge=1, le=MAX_SLOTS)
    broker_monitor_slots: int = Field(default=2, ge=1, le=MAX_SLOTS)
    handler_slot: int = Field(default=1, ge=1, le=MAX_SLOTS)
    monitor_slot: int = Field(default=1, ge=1, le=MAX_SLOTS)
    broker_data_dir: Path = Path("var/mosquitto")
    broker_dynsec_plugin: Path | None = None

    public_url: str = Field(
        default="http://127.0.0.1:8000", pattern=r"^https?://[^\s/]+(/[^\s]*)?$"
    )

    session_secret: str = DEV_SECRET
    session_hours: int = Field(default=8, ge=1, le=24 * 7)
    oidc_discovery_url: str | None = Field(default=None, pattern=r"^https?://\S+$")
    oidc_client_id: str = "makerbus"
    oidc_client_secret: str = DEV_SECRET
    oidc_scopes: str = Field(default="openid profile email", pattern=r"(^|\s)openid(\s|$)")
    oidc_groups_claim: str = "groups"
    admin_group: str = "makerbus-admins"
    product_manager_group: str = "makerbus-shop"
    # Lab technicians approve projects and equipment requests; empty means the admin group.
    technician_group: str = Field(default="", validate_default=True)

    max_payload_bytes: int = Field(default=4096, ge=256, le=65536)
    rate_limit_per_s: float = Field(default=20.0, gt=0)
    rate_limit_burst: int = Field(default=40, ge=1)
    heartbeat_period_s: int = Field(default=30, ge=5, le=600)
    sweep_interval_s: float = Field(default=5.0, gt=0, le=60)
    currency: str = Field(default="EUR", pattern=r"^[A-Z]{3}$")
    space_name: str = Field(default="Makerspace", min_length=1, max_length=80)
    timezone: str = "Europe/Berlin"
    idempotency_retention_days: int = Field(default=7, ge=7)
    metrics_port: Port = 9100
    log_level: str = "INFO"
    log_format: str = Field(default="json", pattern=r"^(json|console)$")

    # Snipe-IT (optional): rental items mirrored from its hardware list, station checkouts and
    # check-ins reported back. An empty URL turns the adapter off.
    snipeit_url: str = Field(default="", pattern=r"^(https?://[^\s/]+(/[^\s]*)?)?$")
    snipeit_token: SecretStr = SecretStr("")
    snipeit_tag_field: str = Field(default="UHF TID", min_length=1)
    snipeit_checkout_to: str = Field(default="", pattern=r"^((location|user):[1-9][0-9]*)?$")
    snipeit_timeout_s: float = Field(default=10.0, gt=0, le=120)
    snipeit_page_size: int = Field(default=100, ge=1, le=500)
    snipeit_sync_interval_s: float = Field(default=60.0, ge=5)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}, e.g. Europe/Berlin") from None
        return value

    @field_validator("technician_group")
    @classmethod
    def _technicians_default_to_admins(cls, value: str, info: ValidationInfo) -> str:
        return value or str(info.data.get("admin_group", ""))

    @model_validator(mode="after")
    def _snipeit_complete(self) -> Settings:
        if self.snipeit_url and not (
            self.snipeit_token.get_secret_value() and self.snipeit_checkout_to
        ):
            raise ValueError(
                "MAKERBUS_SNIPEIT_URL needs MAKERBUS_SNIPEIT_TOKEN and MAKERBUS_SNIPEIT_CHECKOUT_TO"
            )
        return self

    @property
    def zone(self) -> ZoneInfo:
        """The space's local time zone: pages show times in it, a day and a month are its."""
        return ZoneInfo(self.timezone)

    @property
    def is_dev(self) -> bool:
        return self.env is Environment.DEV

    @property
    def device_host(self) -> str:
        """The broker address devices are told to use (may differ from the server's own)."""
        return self.device_mqtt_host or self.mqtt_host

    @property
    def device_port(self) -> int:
        return self.device_mqtt_port or self.mqtt_port

    def require_secrets(self, *fields: str) -> None:
        """Refuse, outside dev mode, to use any of these secrets while empty or the default."""
        if self.is_dev:
            return
        unsafe = [
            name
            for name in fields
            if getattr(self, name) in ("", DEV_SECRET)
            or len(getattr(self, name)) < MIN_SECRET_LENGTH.get(name, 0)
        ]
        if unsafe:
            names = ", ".join(f"MAKERBUS_{name.upper()}" for name in unsafe)
            raise UnsafeSettingsError(
                "refusing to run outside dev mode with an empty, default or too short secret: "
                f"{names}"
            )


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
