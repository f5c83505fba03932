"""Settings from the environment (``GUANXI_*``) and an optional TOML file.

A bad value stops start-up with one line that names the setting, because a newcomer who mistypes a
time zone should not have to read a Pydantic traceback.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

ENV_PREFIX = "GUANXI_"
CONFIG_FILE_ENV = "GUANXI_CONFIG_FILE"
SUPPORTED_LOCALES = ("zh_CN", "en")


class SettingsError(Exception):
    """A setting has a value Guanxi cannot use; the message names the setting."""


def default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(Path.home(), ".local", "share")
    return Path(base) / "guanxi"


class Settings(BaseSettings):
    """Everything an operator can set. Field ``x`` is read from ``GUANXI_X``."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", frozen=True)

    data_dir: Path = Field(default_factory=default_data_dir)
    database_url: str = ""
    secret_key: str = ""
    timezone: str = "Asia/Shanghai"
    default_locale: Literal["zh_CN", "en"] = "zh_CN"
    currency: str = "CNY"
    public_url: str = "http://127.0.0.1:8000"
    redis_url: str = ""
    embedded_worker: bool = True
    session_max_age_hours: int = Field(default=12, ge=1, le=24 * 90)
    login_window_minutes: int = Field(default=15, ge=1)
    login_max_failures_per_account: int = Field(default=5, ge=1)
    login_max_failures_per_address: int = Field(default=20, ge=1)
    api_token_days: int = Field(default=30, ge=1)
    # outgoing webhooks: the waits before each retry (Standard Webhooks' suggested schedule, so a
    # delivery is tried 7 times over about 17.5 hours), the request timeout, and whether plain
    # http:// receivers are allowed beyond loopback (https is required by default)
    webhook_retry_delays: list[float] = Field(
        default_factory=lambda: [5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0], max_length=20
    )
    webhook_timeout_seconds: float = Field(default=10.0, gt=0, le=60)
    webhook_allow_http: bool = False
    # outgoing e-mail (guanxi.mail); an empty smtp_host turns e-mail off (sends are skipped, logged)
    smtp_host: str = ""
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_starttls: bool = False
    smtp_ssl: bool = False
    mail_from: str = "guanxi@localhost"
    # days before a contract's end at which its owner is warned, unless the contract says otherwise
    contract_warning_days: int = Field(default=30, ge=0, le=3650)
    # the largest file accepted on a service ticket (bytes; 10 MiB by default)
    ticket_attachment_max_bytes: int = Field(default=10 * 1024 * 1024, ge=1024, le=1024**3)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        config_file = os.environ.get(CONFIG_FILE_ENV)
        if config_file:
            if not Path(config_file).is_file():
                raise SettingsError(
                    f"invalid setting {CONFIG_FILE_ENV}: no such file {config_file!r}"
                )
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=config_file))
        return tuple(sources)

    @field_validator("default_locale", mode="before")
    @classmethod
    def _normalise_locale(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.replace("-", "_")
            if value.lower() == "zh_cn":
                return "zh_CN"
        return value

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("database_url")
    @classmethod
    def _supported_database(cls, value: str) -> str:
        if not value:
            return value
        try:
            url = make_url(value)
        except ArgumentError as exc:
            raise ValueError(f"not a database URL: {value!r}") from exc
        backend = url.get_backend_name()
        if backend == "postgresql":
            return url.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
        if backend == "sqlite":
            return value
        raise ValueError(f"unsupported database {backend!r}; use sqlite or postgresql")

    @field_validator("webhook_retry_delays")
    @classmethod
    def _non_negative_delays(cls, value: list[float]) -> list[float]:
        if any(delay < 0 for delay in value):
            raise ValueError("retry delays are seconds and cannot be negative")
        return value

    @field_validator("currency")
    @classmethod
    def _currency_code(cls, value: str) -> str:
        if len(value) != 3 or not value.isalpha():
            raise ValueError(f"not an ISO 4217 currency code: {value!r}")
        return value.upper()

    @model_validator(mode="after")
    def _derive_defaults(self) -> Settings:
        # frozen model: fill derived values through object.__setattr__ once, at construction
        if not self.database_url:
            object.__setattr__(
                self, "database_url", f"sqlite:///{self.data_dir / 'guanxi.sqlite3'}"
            )
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def resolved_secret_key(self) -> str:
        """The signing key: the configured one, or one generated once and kept in the data dir."""
        if self.secret_key:
            return self.secret_key
        key_file = self.data_dir / "secret_key"
        if key_file.exists():
            return key_file.read_text().strip()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        # create with 0600 so the key is never readable by other users, even briefly
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(key)
        return key


def load_settings(**overrides: Any) -> Settings:
    """Read settings, turning a validation failure into one line that names the setting."""
    try:
        settings = Settings(**overrides)
    except ValidationError as exc:
        raise SettingsError(_describe(exc)) from None
    if settings.secret_key and len(settings.secret_key) < 32:
        raise SettingsError(
            f"invalid setting {ENV_PREFIX}SECRET_KEY: must be at least 32 characters"
        )
    return settings


def _describe(exc: ValidationError) -> str:
    error = exc.errors()[0]
    field = str(error["loc"][0]) if error["loc"] else "?"
    message = error["msg"].removeprefix("Value error, ")
    value = error.get("input")
    secret = field in {"database_url", "secret_key", "redis_url", "smtp_password"}
    shown = ""
    if isinstance(value, str | int | float) and not secret and repr(value) not in message:
        shown = f" (got {value!r})"
    return f"invalid setting {ENV_PREFIX}{field.upper()}: {message}{shown}"
