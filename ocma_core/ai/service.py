"""AI calls as the core makes them: configuration, keys, budget, cache, provider call, usage record.

Every surface (API, CLI, agent, content services) goes through `complete_text` and `generate_image`, so
keys, budgets and usage records are handled in one place.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ocma_core.ai import registry, usage
from ocma_core.ai.cache import cache_key, get_cache
from ocma_core.ai.errors import AIBadOutput, AINotConfigured
from ocma_core.ai.providers import ImageProvider, TextProvider
from ocma_core.ai.settings import AIConfig, load_config, resolve_key
from ocma_core.ai.sizes import parse_ratio, ratio_for
from ocma_core.ai.types import ImageRequest, ImageResult, ModelTarget, TextRequest, TextResult
from ocma_core.context import Ocma
from ocma_core.db.models import Media

log = logging.getLogger(__name__)

IMAGE_TIMEOUT_S = 180.0


def _no_model() -> AINotConfigured:
    return AINotConfigured(
        "No AI model is configured for this workspace.",
        fix="Set OCMA_MODEL to a litellm model string (e.g. openai/gpt-4o-mini), or the workspace's model.",
        fixes={
            "cli": "Set OCMA_MODEL to a litellm model string (e.g. openai/gpt-4o-mini), or the workspace's "
            "with `ocma ai set --model openai/gpt-4o-mini`.",
            "api": 'Set OCMA_MODEL, or the workspace\'s model with PUT /v1/ai/settings {"model": ...} (admin).',
        },
    )


def _text_target(
    ocma: Ocma, config: AIConfig, provider: TextProvider, model: str, *, primary_vendor: str | None = None
) -> ModelTarget:
    """Model, key, endpoint and price. The configured endpoint and OCMA_MODEL_API_KEY apply to the primary model
    and to fallbacks of the same vendor (another vendor has its own endpoint and key)."""
    vendor = provider.key_name(model)
    env_vars = provider.key_env_vars(model)
    shared = primary_vendor is None or vendor == primary_vendor
    own_endpoint = shared and config.api_base_from_workspace
    key, _source = resolve_key(
        ocma, config, vendor, env_vars, primary_text=shared, workspace_only=own_endpoint
    )
    if vendor is not None and key is None:
        if own_endpoint:
            operator_vars = " or ".join([*env_vars, "OCMA_MODEL_API_KEY"])
            raise AINotConfigured(
                f"No API key for {vendor} (model {model}) of this workspace's own: it sends the model to its "
                f"own endpoint ({config.api_base}), and operator keys never go to an endpoint the operator "
                "did not configure.",
                fix=f"An admin can store the workspace's own {vendor} key, or clear its API base to use the "
                f"operator's endpoint (where {operator_vars} apply).",
                fixes={
                    "cli": f"Store the workspace's own key with `ocma ai key {vendor}`, or use the operator's "
                    f"endpoint with `ocma ai set --clear api_base` (where {operator_vars} apply).",
                    "api": f"Store the workspace's own key with PUT /v1/ai/keys/{vendor} (admin), or clear "
                    f"api_base to use the operator's endpoint (where {operator_vars} apply).",
                },
            )
        variables = (
            " or ".join([*env_vars, *(["OCMA_MODEL_API_KEY"] if shared else [])]) or "its key variable"
        )
        raise AINotConfigured(
            f"No API key for {vendor} (model {model}).",
            fix=f"An admin can store one for the workspace, or set {variables}.",
            fixes={
                "cli": f"Store one for the workspace with `ocma ai key {vendor}`, or set {variables}.",
                "api": f"Store one with PUT /v1/ai/keys/{vendor} (admin), or set {variables}.",
            },
        )
    api_base = config.api_base if shared else None
    return ModelTarget(
        model=model,
        api_key=key,
        api_base=api_base,
        price=config.price_for(model),
        operator_endpoint=not own_endpoint,
    )


def text_request(
    ocma: Ocma,
    workspace_id: str,
    messages: list[dict[str, Any]],
    *,
    model: str | None = None,
    **options: Any,
) -> tuple[TextRequest, TextProvider, AIConfig]:
    """The fully resolved request (model, key, endpoint, fallbacks, price) for this workspace."""
    config = load_config(ocma, workspace_id)
    chosen = model or config.model
    if not chosen:
        raise _no_model()
    provider = registry.text_provider_for(chosen)
    target = _text_target(ocma, config, provider, chosen)
    primary_vendor = provider.key_name(chosen) or ""
    fallbacks = []
    for name in config.fallback_models:
        if name == chosen or not provider.handles(name):
            continue
        try:
            fallbacks.append(_text_target(ocma, config, provider, name, primary_vendor=primary_vendor))
        except AINotConfigured as exc:
            log.warning("fallback model %s skipped: %s", name, exc.message)
    request = TextRequest(
        messages=messages,
        target=target,
        fallbacks=tuple(fallbacks),
        timeout_s=config.timeout_s,
        max_retries=config.max_retries,
        **options,
    )
    return request, provider, config


async def complete_text(
    ocma: Ocma,
    workspace_id: str,
    messages: list[dict[str, Any]],
    *,
    model: str | None = None,
    json_mode: bool = False,
    max_tokens: int = 1500,
    temperature: float | None = 0.7,
    tools: list[dict[str, Any]] | None = None,
    tool_choice: str | dict[str, Any] | None = None,
    on_delta: Callable[[str], None] | None = None,
    use_cache: bool = True,
    cacheable: Callable[[TextResult], bool] | None = None,
) -> TextResult:
    """One chat completion for a workspace: cached, within budget, recorded in AI usage.

    `cacheable` decides whether a result may be cached (e.g. only answers that parsed as the JSON asked for).
    """
    request, provider, config = text_request(
        ocma,
        workspace_id,
        messages,
        model=model,
        json_mode=json_mode,
        max_tokens=max_tokens,
        temperature=temperature,
        tools=tools,
        tool_choice=tool_choice,
        on_delta=on_delta,
    )
    cache = get_cache(ocma.settings.redis_url) if use_cache and config.cache_ttl_s > 0 and not tools else None
    key = cache_key(
        workspace_id,
        request.model,
        request.target.api_base,
        messages,
        temperature,
        max_tokens,
        json_mode,
        [f.model for f in request.fallbacks],
    )
    if cache is not None:
        hit = cache.get(key)
        if hit is not None:
            result = TextResult(**{**hit, "cached": True})
            if on_delta is not None:
                on_delta(result.text)
            return result
    estimate = provider.estimate_cost(request) if _has_budget(config) else None
    reservation = usage.reserve(
        ocma, config, provider=provider.name, model=request.model, kind="text", estimate=estimate
    )
    try:
        if not request.target.operator_endpoint and request.target.api_base:
            from ocma_core.net import check_endpoint

            await check_endpoint(request.target.api_base)
        result = await provider.complete(request)
    except BaseException:
        usage.release(ocma, reservation)
        raise
    usage.settle(
        ocma,
        workspace_id,
        reservation,
        provider=result.provider,
        model=result.model,
        kind="text",
        prompt_tokens=result.prompt_tokens,
        completion_tokens=result.completion_tokens,
        cost_usd=result.cost_usd,
        cost_source=result.cost_source,
    )
    if cache is not None and not result.tool_calls and (cacheable is None or cacheable(result)):
        cache.set(key, result.as_dict(), config.cache_ttl_s)
    return result


def _has_budget(config: AIConfig) -> bool:
    return config.daily_budget_usd is not None or config.monthly_budget_usd is not None


@dataclass
class GeneratedMedia:
    """Images generated and stored, with what the provider reported."""

    media: list[Media]
    result: ImageResult
    provider: str
    aspect_ratio: str
    size: str
    usage_id: str
    platform: str | None = None
    problems: list[dict[str, str]] = field(default_factory=list)


def _image_target(ocma: Ocma, config: AIConfig, provider: ImageProvider, model: str | None) -> ModelTarget:
    same = config.image_provider in (None, provider.name)
    chosen = model or (config.image_model if same else None) or provider.default_model
    own_endpoint = bool(same and config.image_api_base)
    key, _ = resolve_key(ocma, config, provider.vendor, provider.key_env_vars, workspace_only=own_endpoint)
    if key is None and own_endpoint:
        raise AINotConfigured(
            f"No API key for {provider.vendor} of this workspace's own: it sends images to its own endpoint "
            f"({config.image_api_base}), and operator keys never go to an endpoint the operator did not "
            "configure.",
            fix=f"Store the workspace's own key with `ocma ai key {provider.vendor}` (admin), or clear "
            f"image_api_base (then {' or '.join(provider.key_env_vars)} apply).",
        )
    if key is None:
        variables = " or ".join(provider.key_env_vars)
        raise AINotConfigured(
            f"No API key for {provider.vendor} (image provider {provider.name}).",
            fix=f"An admin can store one for the workspace, or set {variables}.",
            fixes={
                "cli": f"Store one with `ocma ai key {provider.vendor}`, or set {variables}.",
                "api": f"Store one with PUT /v1/ai/keys/{provider.vendor} (admin), or set {variables}.",
            },
        )
    env_var = f"OCMA_{provider.name.upper().replace('-', '_')}_API_BASE"
    api_base = (
        (config.image_api_base if same else None) or os.environ.get(env_var) or provider.default_api_base
    )
    return ModelTarget(
        model=chosen,
        api_key=key,
        api_base=api_base.rstrip("/"),
        price=config.price_for(chosen),
        operator_endpoint=not own_endpoint,
    )


async def generate_image(
    ocma: Ocma,
    workspace_id: str,
    prompt: str,
    *,
    platform: str | None = None,
    aspect_ratio: str | None = None,
    provider_name: str | None = None,
    model: str | None = None,
    alt_text: str = "",
    negative_prompt: str | None = None,
) -> GeneratedMedia:
    """Generate an image sized for the platform, store it in the media store and record its cost."""
    from ocma_core.ai.images import media_problems, output_format_for, store_generated

    if not prompt.strip():
        from ocma_core.errors import ValidationFailed

        raise ValidationFailed("The image prompt is empty.", fix="Describe the image to generate.")
    config = load_config(ocma, workspace_id)
    provider = registry.image_provider(provider_name or config.image_provider)
    ratio = ratio_for(platform, aspect_ratio)
    target = _image_target(ocma, config, provider, model)
    size = provider.size_for(target.model, parse_ratio(ratio))
    options = {"output_format": output_format_for(platform)}
    request = ImageRequest(
        prompt=prompt.strip(),
        target=target,
        size=size,
        negative_prompt=negative_prompt,
        timeout_s=max(IMAGE_TIMEOUT_S, config.timeout_s),
        options=options,
    )
    estimate = provider.estimate_cost(request) if _has_budget(config) else None
    reservation = usage.reserve(
        ocma, config, provider=provider.name, model=target.model, kind="image", estimate=estimate
    )
    try:
        result = await provider.generate(request)
        if not result.images:
            raise AIBadOutput(f"{provider.name} ({target.model}) returned no image.", fix="Retry.")
    except BaseException:
        usage.release(ocma, reservation)
        raise
    usage_id = usage.settle(
        ocma,
        workspace_id,
        reservation,
        provider=result.provider,
        model=result.model,
        kind="image",
        prompt_tokens=result.prompt_tokens,
        completion_tokens=result.completion_tokens,
        cost_usd=result.cost_usd,
        cost_source=result.cost_source,
    )
    media = store_generated(
        ocma,
        workspace_id,
        request,
        result,
        provider=provider.name,
        platform=platform,
        alt_text=alt_text,
        usage_id=usage_id,
    )
    return GeneratedMedia(
        media=media,
        result=result,
        provider=provider.name,
        aspect_ratio=ratio,
        size=size.text,
        usage_id=usage_id,
        platform=platform,
        problems=media_problems(ocma, platform, media),
    )
