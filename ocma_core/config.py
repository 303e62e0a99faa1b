"""Settings from OCMA_* environment variables and the settings files (pydantic-settings; see settings_files)."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from ocma_core.errors import ConfigError
from ocma_core.settings_files import (
    SETTINGS_FILE,
    Layer,
    check_env_file,
    default_data_dir,
    merged,
    settings_layers,
    source_of,
)

__all__ = ["Settings", "check_env_file", "default_data_dir", "load_settings"]


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
    tracing: Literal["off", "otlp", "console"] = "off"  # OpenTelemetry traces (pip install "ocma[otel]")
    metrics_port: int | None = Field(default=None, ge=1, le=65535)  # a worker process's own /metrics
    media_backend: Literal["local", "s3"] = "local"
    s3_bucket: str | None = None
    s3_endpoint_url: str | None = None
    s3_region: str | None = None
    s3_access_key_id: str | None = Field(default=None, repr=False)
    s3_secret_access_key: str | None = Field(default=None, repr=False)
    media_url_ttl_s: int = Field(default=24 * 3600, ge=60)
    worker_concurrency: int = Field(default=32, ge=1, le=1024)
    # Database connections one OCMA process (a worker process, the API) opens at most; more work waits for one.
    db_pool_size: int = Field(default=10, ge=2, le=500)
    db_pool_timeout_s: float = Field(default=60.0, gt=0)  # how long work waits for a free connection
    worker_heartbeat_s: float = Field(default=5.0, gt=0)
    worker_stale_s: float = Field(default=30.0, gt=0)
    claim_lease_s: float = Field(default=20.0, gt=0)  # a claim not renewed for this long is looked up
    metrics_interval_s: float = Field(default=60.0, ge=0)  # 0 turns background collection off
    publish_max_attempts: int = Field(default=5, ge=1, le=50)
    oauth_state_ttl_s: int = Field(default=600, ge=30)
    # When the weekly report event (report.weekly) is due, in each workspace's timezone; "off" turns it off.
    weekly_report_at: str = "mon 09:00"
    # Where metrics rounds, weekly reports, expiry checks and webhook deliveries run: in the publishing worker
    # ("inline"), or as rq jobs run by `ocma jobs work` ("rq", needs OCMA_REDIS_URL); see ocma_core/jobs.py.
    background: Literal["inline", "rq"] = "inline"
    stream_max_per_key: int = Field(default=20, ge=1, le=100_000)  # open /v1/stream sockets per API key

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
        """The data directory's key file: the keys in force when OCMA_ENCRYPTION_KEYS is not set."""
        return self.data_dir / "encryption.key"

    @property
    def settings_file(self) -> Path:
        """The data directory's settings file (./.env and the environment override it)."""
        return self.data_dir / SETTINGS_FILE


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment (with OCMA_<NAME>_FILE), ./.env and the data directory's ocma.env, in that
    order of precedence, with a clear error for a bad file or value. `_env_file=None` reads no file."""
    use_files = overrides.pop("_env_file", True) is not None
    data_dir = overrides.get("data_dir")
    layers = settings_layers(data_dir=Path(str(data_dir)) if data_dir else None, use_files=use_files)
    values = merged(layers)
    fields = {
        name: values[f"OCMA_{name.upper()}"]
        for name in Settings.model_fields
        if f"OCMA_{name.upper()}" in values
    }
    try:
        return Settings(**{**fields, **overrides}, _env_file=None)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = "; ".join(_problem(err["loc"], err["msg"], layers) for err in exc.errors())
        raise ConfigError(f"Invalid configuration: {problems}.", fix="Correct it where it is set.") from None


def _problem(loc: tuple[int | str, ...], msg: str, layers: list[Layer]) -> str:
    name = f"OCMA_{'_'.join(str(p) for p in loc).upper()}"
    where = source_of(name, layers)
    return f"{name}: {msg}" + (f" (set in {where})" if where else "")
