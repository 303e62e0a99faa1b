"""Per-workspace AI configuration (Workspace.settings["ai"]) with OCMA_* environment defaults.

Workspace settings (all optional):
  settings["ai"] = {"model", "api_base", "fallback_models", "timeout_s", "max_retries",
                    "image_provider", "image_model", "image_api_base",
                    "daily_budget_usd", "monthly_budget_usd", "cache_ttl_s",
                    "prices": {model: {"input_per_token", "output_per_token", "per_image"}},
                    "keys": {vendor: <ciphertext>}}
  settings["brand_voice"] = "..."
Environment: OCMA_MODEL, OCMA_MODEL_API_BASE, OCMA_MODEL_API_KEY, OCMA_MODEL_FALLBACKS (comma separated),
OCMA_IMAGE_PROVIDER, OCMA_IMAGE_MODEL, OCMA_AI_CACHE_TTL_S, OCMA_AI_TIMEOUT_S.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from ocma_core.ai.types import Price
from ocma_core.context import Ocma
from ocma_core.db.models import Workspace
from ocma_core.errors import NotFoundError, ValidationFailed

DEFAULT_CACHE_TTL_S = 24 * 3600
DEFAULT_TIMEOUT_S = 60.0
DEFAULT_MAX_RETRIES = 2


class AIEnv(BaseSettings):
    """AI defaults from OCMA_* variables and ./.env (a workspace setting wins over these)."""

    model_config = SettingsConfigDict(
        env_prefix="OCMA_", env_file=".env", extra="ignore", protected_namespaces=()
    )

    model: str | None = None
    model_api_base: str | None = None
    model_api_key: str | None = Field(default=None, repr=False)
    model_fallbacks: str | None = None
    image_provider: str | None = None
    image_model: str | None = None
    ai_cache_ttl_s: int | None = Field(default=None, ge=0)
    ai_timeout_s: float | None = Field(default=None, gt=0)


@dataclass
class AIConfig:
    """The AI configuration in force for one workspace."""

    workspace_id: str
    workspace_name: str
    timezone: str
    model: str | None
    model_source: str
    api_base: str | None
    fallback_models: list[str]
    timeout_s: float
    max_retries: int
    image_provider: str | None
    image_model: str | None
    image_api_base: str | None
    daily_budget_usd: float | None
    monthly_budget_usd: float | None
    cache_ttl_s: int
    prices: dict[str, Price]
    keys_enc: dict[str, str]
    brand_voice: str
    prompts: dict[str, str] = field(default_factory=dict)
    env_api_key: str | None = field(default=None, repr=False)
    # True when api_base is the workspace's own setting (not OCMA_MODEL_API_BASE): operator keys stay home.
    api_base_from_workspace: bool = False

    def price_for(self, model: str) -> Price | None:
        """The configured price of `model` (exact name, else without a provider prefix)."""
        return self.prices.get(model) or self.prices.get(model.split("/", 1)[-1])


class AISettingsUpdate(BaseModel):
    """Fields a workspace admin may change; None clears a field back to the default."""

    model_config = {"extra": "forbid", "protected_namespaces": ()}

    model: str | None = None
    api_base: str | None = None
    fallback_models: list[str] | None = None
    timeout_s: float | None = Field(default=None, gt=0, le=600)
    max_retries: int | None = Field(default=None, ge=0, le=10)
    image_provider: str | None = None
    image_model: str | None = None
    image_api_base: str | None = None
    daily_budget_usd: float | None = Field(default=None, ge=0)
    monthly_budget_usd: float | None = Field(default=None, ge=0)
    cache_ttl_s: int | None = Field(default=None, ge=0)
    prices: dict[str, dict[str, float]] | None = None

    @field_validator("api_base", "image_api_base")
    @classmethod
    def _endpoint(cls, value: str | None) -> str | None:
        if value is None:
            return value
        from ocma_core.net import FetchRefused, check_url

        try:
            check_url(value)
        except FetchRefused as exc:
            raise ValueError(exc.message) from None
        return value

    @field_validator("prices")
    @classmethod
    def _prices(cls, value: dict[str, dict[str, float]] | None) -> dict[str, dict[str, float]] | None:
        allowed = {"input_per_token", "output_per_token", "per_image"}
        for model, price in (value or {}).items():
            unknown = set(price) - allowed
            if unknown or any(v < 0 for v in price.values()):
                raise ValueError(f"price of {model!r} takes non-negative {', '.join(sorted(allowed))}")
        return value


def load_config(ocma: Ocma, workspace_id: str) -> AIConfig:
    """The workspace's AI settings merged over the environment defaults."""
    with ocma.session() as session:
        workspace = session.get(Workspace, workspace_id)
        if workspace is None:
            raise NotFoundError(f"No workspace {workspace_id!r}.")
        settings = dict(workspace.settings or {})
        name, timezone = workspace.name, workspace.timezone
    ai: dict[str, Any] = dict(settings.get("ai") or {})
    env = AIEnv()
    fallbacks = ai.get("fallback_models")
    if fallbacks is None:
        fallbacks = [m.strip() for m in (env.model_fallbacks or "").split(",") if m.strip()]
    model_source = "workspace setting ai.model" if ai.get("model") else "OCMA_MODEL" if env.model else "none"
    return AIConfig(
        workspace_id=workspace_id,
        workspace_name=name,
        timezone=timezone,
        model=ai.get("model") or env.model,
        model_source=model_source,
        api_base=ai.get("api_base") or env.model_api_base,
        fallback_models=list(fallbacks),
        timeout_s=float(ai.get("timeout_s") or env.ai_timeout_s or DEFAULT_TIMEOUT_S),
        max_retries=int(ai["max_retries"]) if ai.get("max_retries") is not None else DEFAULT_MAX_RETRIES,
        image_provider=ai.get("image_provider") or env.image_provider,
        image_model=ai.get("image_model") or env.image_model,
        image_api_base=ai.get("image_api_base"),
        daily_budget_usd=_opt_float(ai.get("daily_budget_usd")),
        monthly_budget_usd=_opt_float(ai.get("monthly_budget_usd")),
        cache_ttl_s=int(
            ai["cache_ttl_s"]
            if ai.get("cache_ttl_s") is not None
            else env.ai_cache_ttl_s
            if env.ai_cache_ttl_s is not None
            else DEFAULT_CACHE_TTL_S
        ),
        prices={m: Price.parse(p) for m, p in (ai.get("prices") or {}).items()},
        keys_enc=dict(ai.get("keys") or {}),
        brand_voice=str(settings.get("brand_voice") or ""),
        prompts=dict(settings.get("prompts") or {}),
        env_api_key=env.model_api_key,
        api_base_from_workspace=bool(ai.get("api_base")),
    )


def _opt_float(value: Any) -> float | None:
    return None if value is None else float(value)


def resolve_key(
    ocma: Ocma,
    config: AIConfig,
    vendor: str | None,
    env_vars: tuple[str, ...],
    *,
    primary_text: bool = False,
    workspace_only: bool = False,
) -> tuple[str | None, str]:
    """The API key and where it came from: the workspace's key for `vendor`, then OCMA_MODEL_API_KEY
    (primary text model only), then the vendor's usual environment variables. With `workspace_only` (the
    workspace chose the endpoint) operator keys are never used: they go only to operator-configured hosts."""
    if vendor and vendor in config.keys_enc:
        return ocma.vault.decrypt(config.keys_enc[vendor]), f"workspace key {vendor!r}"
    if workspace_only:
        return None, "none"
    if primary_text and config.env_api_key:
        return config.env_api_key, "OCMA_MODEL_API_KEY"
    for var in env_vars:
        value = os.environ.get(var)
        if value:
            return value, var
    return None, "none"


def _write_ai(ocma: Ocma, workspace_id: str, change: Any) -> dict[str, Any]:
    with ocma.session() as session:
        workspace = session.get(Workspace, workspace_id)
        if workspace is None:
            raise NotFoundError(f"No workspace {workspace_id!r}.")
        settings = dict(workspace.settings or {})
        ai = dict(settings.get("ai") or {})
        change(settings, ai)
        settings["ai"] = ai
        workspace.settings = settings
        session.add(workspace)
        return ai


def update_ai_settings(
    ocma: Ocma, workspace_id: str, changes: dict[str, Any], *, brand_voice: str | None = None
) -> dict[str, Any]:
    """Validate and merge `changes` into settings["ai"] (a None value removes the field)."""
    try:
        AISettingsUpdate(**changes)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        raise ValidationFailed(f"Invalid AI settings: {problems}.") from None

    def change(settings: dict[str, Any], ai: dict[str, Any]) -> None:
        for key, value in changes.items():
            if value is None:
                ai.pop(key, None)
            else:
                ai[key] = value
        if brand_voice is not None:
            settings["brand_voice"] = brand_voice

    return public_view(_write_ai(ocma, workspace_id, change))


def set_key(ocma: Ocma, workspace_id: str, vendor: str, secret: str | None) -> None:
    """Store (encrypted) or, with None, remove the workspace's API key for `vendor`."""
    vendor = vendor.strip().lower()
    if not vendor.replace("-", "").replace("_", "").isalnum():
        raise ValidationFailed(
            f"{vendor!r} is not a vendor name.", fix="Use e.g. openai, anthropic, stability."
        )
    if secret is not None and not secret.strip():
        raise ValidationFailed("The key is empty.")

    def change(settings: dict[str, Any], ai: dict[str, Any]) -> None:
        keys = dict(ai.get("keys") or {})
        if secret is None:
            keys.pop(vendor, None)
        else:
            keys[vendor] = ocma.vault.encrypt(secret.strip())
        ai["keys"] = keys

    _write_ai(ocma, workspace_id, change)


def public_view(ai: dict[str, Any]) -> dict[str, Any]:
    """Settings safe to show: key names only, never the ciphertext."""
    shown = {k: v for k, v in ai.items() if k != "keys"}
    shown["keys_configured"] = sorted((ai.get("keys") or {}).keys())
    return shown


def settings_view(ocma: Ocma, workspace_id: str) -> dict[str, Any]:
    """The workspace's stored AI settings (key names only), brand voice, and what is in force."""
    with ocma.session() as session:
        workspace = session.get(Workspace, workspace_id)
        if workspace is None:
            raise NotFoundError(f"No workspace {workspace_id!r}.")
        stored = dict((workspace.settings or {}).get("ai") or {})
    config = load_config(ocma, workspace_id)
    view = public_view(stored)
    view["brand_voice"] = config.brand_voice
    view["effective"] = {
        "model": config.model,
        "model_source": config.model_source,
        "image_provider": config.image_provider,
        "cache_ttl_s": config.cache_ttl_s,
        "timeout_s": config.timeout_s,
        "max_retries": config.max_retries,
        "fallback_models": config.fallback_models,
    }
    return view
