"""AI content: generate, adapt, optimise, score; image generation; AI settings, keys, prompts and usage."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel, ConfigDict, Field

from ocma_core.api.auth import Caller, get_ocma, require
from ocma_core.api.openapi import errors
from ocma_core.api.routes_media import MediaOut, media_out
from ocma_core.api.schemas import AISettingsOut, AIUsageOut, ContentOut, PromptOut
from ocma_core.context import Ocma
from ocma_core.permissions import Action

router = APIRouter(tags=["content"])

Objective = Literal["engagement", "reach", "clicks", "awareness"]


class GenerateRequest(BaseModel):
    """A brief and the platforms to write for."""

    model_config = ConfigDict(strict=True, extra="forbid")

    brief: str = Field(min_length=1, max_length=8000)
    platforms: list[str] = Field(min_length=1, max_length=12)
    variations: int = Field(2, ge=0, le=5)
    instructions: str = Field("", max_length=2000)


class AdaptRequest(BaseModel):
    """A message to rewrite for each platform."""

    model_config = ConfigDict(strict=True, extra="forbid")

    text: str = Field(min_length=1, max_length=20000)
    platforms: list[str] = Field(min_length=1, max_length=12)
    instructions: str = Field("", max_length=2000)


class OptimizeRequest(BaseModel):
    """A post to improve for an objective on one platform."""

    model_config = ConfigDict(strict=True, extra="forbid")

    text: str = Field(min_length=1, max_length=20000)
    platform: str = Field(min_length=1, max_length=64)
    objective: Objective
    alternatives: int = Field(3, ge=0, le=5)


class ScoreRequest(BaseModel):
    """A post to measure on one platform."""

    model_config = ConfigDict(strict=True, extra="forbid")

    text: str = Field(min_length=1, max_length=20000)
    platform: str = Field(min_length=1, max_length=64)
    has_media: bool = False
    media_ids: list[str] = Field(default_factory=list, max_length=20)
    judge: bool = Field(True, description="Also ask the model for tone, clarity and hook.")


class ImageGenerateRequest(BaseModel):
    """An image to generate, sized for a platform."""

    model_config = ConfigDict(strict=True, extra="forbid")

    prompt: str = Field(min_length=1, max_length=4000)
    platform: str | None = None
    aspect_ratio: str | None = Field(None, description="WIDTH:HEIGHT; overrides the platform's ratio.")
    provider: str | None = Field(None, description="openai-images, stability, runware, ...")
    model: str | None = None
    alt_text: str = Field("", max_length=2000)
    negative_prompt: str | None = Field(None, max_length=2000)


class GeneratedImageOut(BaseModel):
    """Stored images and how they were made."""

    media: list[MediaOut]
    provider: str
    model: str
    aspect_ratio: str
    size: str
    cost_usd: float | None
    cost_source: str
    usage_id: str
    platform: str | None
    problems: list[dict[str, str]]


@router.post("/v1/content/generate", responses=errors(402, 404, 429, 502, 503))
async def generate(
    body: GenerateRequest,
    caller: Caller = Depends(require(Action.CONTENT_GENERATE)),
    ocma: Ocma = Depends(get_ocma),
) -> ContentOut:
    """Title, main text, variations, hashtags and a validated draft per platform from a brief."""
    from ocma_core.content.generate import generate as run

    result = await run(
        ocma,
        caller.workspace_id,
        body.brief,
        body.platforms,
        variations=body.variations,
        instructions=body.instructions,
    )
    return ContentOut.model_validate(result.as_dict())


@router.post("/v1/content/adapt", responses=errors(402, 404, 429, 502, 503))
async def adapt(
    body: AdaptRequest,
    caller: Caller = Depends(require(Action.CONTENT_GENERATE)),
    ocma: Ocma = Depends(get_ocma),
) -> ContentOut:
    """The message rewritten per platform, each draft validated by the platform plugin."""
    from ocma_core.content.adapt import adapt as run

    result = await run(ocma, caller.workspace_id, body.text, body.platforms, instructions=body.instructions)
    return ContentOut.model_validate(result.as_dict())


@router.post("/v1/content/optimize", responses=errors(402, 404, 429, 502, 503))
async def optimize(
    body: OptimizeRequest,
    caller: Caller = Depends(require(Action.CONTENT_GENERATE)),
    ocma: Ocma = Depends(get_ocma),
) -> ContentOut:
    """An optimised version and A/B alternatives, each validated and compared with the original."""
    from ocma_core.content.optimize import optimize as run

    result = await run(
        ocma, caller.workspace_id, body.text, body.platform, body.objective, alternatives=body.alternatives
    )
    return ContentOut.model_validate(result.as_dict())


@router.post("/v1/content/score", responses=errors(402, 404, 429, 502, 503))
async def score(
    body: ScoreRequest,
    caller: Caller = Depends(require(Action.CONTENT_GENERATE)),
    ocma: Ocma = Depends(get_ocma),
) -> ContentOut:
    """Computed measures and (with judge) model-judged qualities, each labelled with how it was produced."""
    from ocma_core.content.score import score as run
    from ocma_core.services.media import get_media

    for media_id in body.media_ids:
        get_media(ocma, caller.workspace_id, media_id)
    result = await run(
        ocma,
        caller.workspace_id,
        body.text,
        body.platform,
        has_media=body.has_media or bool(body.media_ids),
        judge=body.judge,
    )
    return ContentOut.model_validate(result.as_dict())


@router.post("/v1/media/generate", status_code=201, responses=errors(402, 404, 429, 502, 503))
async def generate_image(
    body: ImageGenerateRequest,
    caller: Caller = Depends(require(Action.CONTENT_GENERATE)),
    ocma: Ocma = Depends(get_ocma),
) -> GeneratedImageOut:
    """Generate an image sized for the platform and store it in the media store (signed URL in `media`)."""
    from ocma_core.ai.service import generate_image as run

    made = await run(
        ocma,
        caller.workspace_id,
        body.prompt,
        platform=body.platform,
        aspect_ratio=body.aspect_ratio,
        provider_name=body.provider,
        model=body.model,
        alt_text=body.alt_text,
        negative_prompt=body.negative_prompt,
    )
    return GeneratedImageOut(
        media=[media_out(ocma, m) for m in made.media],
        provider=made.provider,
        model=made.result.model,
        aspect_ratio=made.aspect_ratio,
        size=made.size,
        cost_usd=made.result.cost_usd,
        cost_source=made.result.cost_source,
        usage_id=made.usage_id,
        platform=made.platform,
        problems=made.problems,
    )


# ----- AI settings, keys, prompts, usage ------------------------------------------------------------------


class AISettingsBody(BaseModel):
    """Fields to change; send null to clear one back to its default."""

    model_config = ConfigDict(extra="forbid", protected_namespaces=(), strict=True)

    model: str | None = None
    api_base: str | None = None
    fallback_models: list[str] | None = None
    timeout_s: float | None = None
    max_retries: int | None = None
    image_provider: str | None = None
    image_model: str | None = None
    image_api_base: str | None = None
    daily_budget_usd: float | None = None
    monthly_budget_usd: float | None = None
    cache_ttl_s: int | None = None
    prices: dict[str, dict[str, float]] | None = None
    brand_voice: str | None = Field(None, max_length=4000)


class KeyBody(BaseModel):
    """An API key for a vendor; stored encrypted and never shown again."""

    model_config = ConfigDict(strict=True, extra="forbid")

    key: str = Field(min_length=1, max_length=1000)


class PromptBody(BaseModel):
    """A prompt template override."""

    model_config = ConfigDict(strict=True, extra="forbid")

    text: str = Field(min_length=1, max_length=20000)


@router.get("/v1/ai/settings", tags=["ai"])
def get_ai_settings(
    caller: Caller = Depends(require(Action.AI_READ)), ocma: Ocma = Depends(get_ocma)
) -> AISettingsOut:
    """The workspace's AI settings (key names only) and what is in force."""
    from ocma_core.ai.settings import settings_view

    return AISettingsOut.model_validate(settings_view(ocma, caller.workspace_id))


@router.put("/v1/ai/settings", tags=["ai"])
def put_ai_settings(
    body: AISettingsBody,
    caller: Caller = Depends(require(Action.AI_CONFIGURE)),
    ocma: Ocma = Depends(get_ocma),
) -> AISettingsOut:
    """Change the model, fallbacks, budgets, prices, image provider, cache TTL or brand voice."""
    from ocma_core.ai.settings import settings_view, update_ai_settings

    fields = body.model_fields_set - {"brand_voice"}
    changes = {name: getattr(body, name) for name in fields}
    voice = (body.brand_voice or "") if "brand_voice" in body.model_fields_set else None
    update_ai_settings(ocma, caller.workspace_id, changes, brand_voice=voice)
    return AISettingsOut.model_validate(settings_view(ocma, caller.workspace_id))


@router.put("/v1/ai/keys/{vendor}", status_code=204, tags=["ai"], response_class=Response)
def put_key(
    vendor: str,
    body: KeyBody,
    caller: Caller = Depends(require(Action.AI_CONFIGURE)),
    ocma: Ocma = Depends(get_ocma),
) -> Response:
    """Store the workspace's API key for a vendor (openai, anthropic, stability, runware, ...), encrypted."""
    from ocma_core.ai.settings import set_key

    set_key(ocma, caller.workspace_id, vendor, body.key)
    return Response(status_code=204)


@router.delete("/v1/ai/keys/{vendor}", status_code=204, tags=["ai"], response_class=Response)
def delete_key(
    vendor: str, caller: Caller = Depends(require(Action.AI_CONFIGURE)), ocma: Ocma = Depends(get_ocma)
) -> Response:
    """Remove the workspace's key for a vendor (the environment variable applies again)."""
    from ocma_core.ai.settings import set_key

    set_key(ocma, caller.workspace_id, vendor, None)
    return Response(status_code=204)


@router.get("/v1/ai/usage", tags=["ai"])
def ai_usage(caller: Caller = Depends(require(Action.AI_READ)), ocma: Ocma = Depends(get_ocma)) -> AIUsageOut:
    """AI spend and tokens today and this month (workspace timezone), per model, against the budgets."""
    from ocma_core.ai.settings import load_config
    from ocma_core.ai.usage import usage_summary

    return AIUsageOut.model_validate(usage_summary(ocma, load_config(ocma, caller.workspace_id)))


@router.get("/v1/content/prompts/{name:path}", tags=["ai"])
def get_prompt(
    name: str, caller: Caller = Depends(require(Action.AI_READ)), ocma: Ocma = Depends(get_ocma)
) -> PromptOut:
    """The template in force for this workspace and where it comes from."""
    from ocma_core.ai.settings import load_config
    from ocma_core.content.prompts import load

    found = load(ocma, load_config(ocma, caller.workspace_id), name)
    return PromptOut(name=found.name, source=found.source, text=found.text)


@router.put("/v1/content/prompts/{name:path}", status_code=204, tags=["ai"], response_class=Response)
def put_prompt(
    name: str,
    body: PromptBody,
    caller: Caller = Depends(require(Action.AI_CONFIGURE)),
    ocma: Ocma = Depends(get_ocma),
) -> Response:
    """Override a template for this workspace."""
    from ocma_core.content.prompts import set_prompt

    set_prompt(ocma, caller.workspace_id, name, body.text)
    return Response(status_code=204)


@router.delete("/v1/content/prompts/{name:path}", status_code=204, tags=["ai"], response_class=Response)
def delete_prompt(
    name: str, caller: Caller = Depends(require(Action.AI_CONFIGURE)), ocma: Ocma = Depends(get_ocma)
) -> Response:
    """Drop the workspace's override of a template."""
    from ocma_core.content.prompts import set_prompt

    set_prompt(ocma, caller.workspace_id, name, None)
    return Response(status_code=204)
