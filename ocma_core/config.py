"""Settings from OCMA_* environment variables and a .env file (pydantic-settings)."""

from __future__ import annotations

import os
import re
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from ocma_core.errors import ConfigError

_ENV_LINE = re.compile(r"^\s*(export\s+)?[A-Za-z_][A-Za-z0-9_]*\s*=")


def default_data_dir() -> Path:
    """Where OCMA keeps its SQLite database, media and key file unless OCMA_DATA_DIR says otherwise."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "ocma"


class Settings(BaseSettings):
    """Every OCMA_* setting; see the configuration table in the README."""

    model_config = SettingsConfigDict(env_prefix="OCMA_", env_file=".env", extra="ignore")

    data_dir: Path = Field(default_factory=default_data_dir)
    database_url: str | None = None
    redis_url: str | None = None
    encryption_keys: str | None = Field(default=None, repr=False)
    public_url: str = "http://127.0.0.1:8000"
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    log_format: Literal["text", "json"] = "text"
    log_level: str = "INFO"
    media_backend: Literal["local", "s3"] = "local"
    s3_bucket: str | None = None
    s3_endpoint_url: str | None = None
    s3_region: str | None = None
    s3_access_key_id: str | None = Field(default=None, repr=False)
    s3_secret_access_key: str | None = Field(default=None, repr=False)
    media_url_ttl_s: int = Field(default=24 * 3600, ge=60)
    worker_concurrency: int = Field(default=32, ge=1, le=1024)
    worker_heartbeat_s: float = Field(default=5.0, gt=0)
    worker_stale_s: float = Field(default=30.0, gt=0)
    claim_lease_s: float = Field(default=20.0, gt=0)  # a claim not renewed for this long is looked up
    metrics_interval_s: float = Field(default=60.0, ge=0)  # 0 turns background collection off
    publish_max_attempts: int = Field(default=5, ge=1, le=50)
    oauth_state_ttl_s: int = Field(default=600, ge=30)
    # When the weekly report event (report.weekly) is due, in each workspace's timezone; "off" turns it off.
    weekly_report_at: str = "mon 09:00"

    @field_validator("log_level")
    @classmethod
    def _upper(cls, value: str) -> str:
        return value.upper()

    @field_validator("weekly_report_at")
    @classmethod
    def _weekly(cls, value: str) -> str:
        from ocma_core.engine.weekly import parse_schedule

        text = value.strip().lower()
        if text in ("", "off", "none"):
            return "off"
        parse_schedule(text)  # raises ValueError with the expected form
        return text

    @cached_property
    def resolved_database_url(self) -> str:
        """The database URL; SQLite under the data directory by default."""
        if self.database_url:
            url = self.database_url
            if url.startswith("postgresql://") or url.startswith("postgres://"):
                url = "postgresql+psycopg://" + url.split("://", 1)[1]
            return url
        return f"sqlite:///{self.data_dir / 'ocma.db'}"

    @property
    def is_sqlite(self) -> bool:
        """True when the database is SQLite."""
        return self.resolved_database_url.startswith("sqlite")

    @property
    def key_file(self) -> Path:
        """File holding generated encryption keys when OCMA_ENCRYPTION_KEYS is not set."""
        return self.data_dir / "encryption.key"


def check_env_file(path: Path) -> None:
    """Raise ConfigError naming the line of a .env file that is not `NAME=value`."""
    if not path.exists():
        return
    for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
        stripped = line.strip()
        if stripped and not stripped.startswith("#") and not _ENV_LINE.match(line):
            raise ConfigError(
                f"{path}:{number} is not a setting line: {stripped[:60]!r}.",
                fix="Each line must be NAME=value (or a # comment); fix or remove that line.",
            )


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment and ./.env, with a clear error for a bad file or value."""
    check_env_file(Path(".env"))
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = "; ".join(
            f"OCMA_{'_'.join(str(p) for p in err['loc']).upper()}: {err['msg']}" for err in exc.errors()
        )
        raise ConfigError(
            f"Invalid configuration: {problems}.", fix="Correct it in the environment or .env."
        ) from None
