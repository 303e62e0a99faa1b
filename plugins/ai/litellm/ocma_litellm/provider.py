"""Text generation through litellm: one retry loop (ours), optional fallback models, cost per call.

litellm is imported inside functions only: importing this module (or `ocma --help`) never loads it.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import time
from typing import Any

from ocma_core.ai import (
    AIBadOutput,
    AIError,
    AIRefused,
    AIUnavailable,
    AIUnknownModel,
    ModelTarget,
    TextProvider,
    TextRequest,
    TextResult,
)
from ocma_litellm.errors import map_error

log = logging.getLogger(__name__)

NO_KEY_PROVIDERS = {"ollama", "ollama_chat", "lm_studio", "llamafile", "hosted_vllm", "vllm"}
SOURCE_TABLE = "litellm price table"
SOURCE_CONFIGURED = "configured price"
SOURCE_UNKNOWN = "unknown (model not priced)"


def load_litellm() -> Any:
    """Import litellm on first use, offline-safe (bundled price table unless told otherwise), quiet."""
    # Without this, `import litellm` fetches the newest price table from GitHub (5 s timeout).
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm

    litellm.suppress_debug_info = True
    litellm.telemetry = False
    return litellm


class LiteLLMText(TextProvider):
    """Any model litellm supports: `openai/...`, `anthropic/...`, `gemini/...`, `ollama_chat/...`, ..."""

    name = "litellm"
    backoff_base_s = 0.5
    backoff_max_s = 20.0

    def vendor(self, model: str) -> str:
        """litellm's provider for `model`, or AIUnknownModel when litellm cannot tell."""
        litellm = load_litellm()
        try:
            return str(litellm.get_llm_provider(model=model)[1])
        except Exception:
            raise AIUnknownModel(
                f"litellm does not know which provider serves the model {model!r}.",
                fix="Use a litellm model string with the provider prefix, e.g. openai/gpt-4o-mini, "
                "anthropic/claude-sonnet-4-5, gemini/gemini-2.5-flash or ollama_chat/llama3.1 "
                "(https://docs.litellm.ai/docs/providers).",
            ) from None

    def key_name(self, model: str) -> str | None:
        """The vendor whose key the model needs; None for local servers that take none."""
        vendor = self.vendor(model)
        return None if vendor in NO_KEY_PROVIDERS else vendor

    def key_env_vars(self, model: str) -> tuple[str, ...]:
        """The variables litellm itself reads for this vendor's key (e.g. ANTHROPIC_API_KEY)."""
        litellm = load_litellm()
        if self.key_name(model) is None:
            return ()
        missing = litellm.validate_environment(model=model).get("missing_keys") or []
        keys = tuple(k for k in missing if k.endswith("_KEY") or k.endswith("_TOKEN"))
        present = tuple(k for k in (f"{self.vendor(model).upper()}_API_KEY",) if k not in keys)
        return keys + present

    # ----- cost -----------------------------------------------------------------------------------
    def _unit_prices(self, target: ModelTarget) -> tuple[float, float, str] | None:
        if target.price is not None:
            return target.price.input_per_token, target.price.output_per_token, SOURCE_CONFIGURED
        litellm = load_litellm()
        try:
            prompt, completion = litellm.cost_per_token(
                model=target.model, prompt_tokens=1_000_000, completion_tokens=1_000_000
            )
        except Exception:
            return None
        return float(prompt) / 1_000_000, float(completion) / 1_000_000, SOURCE_TABLE

    def estimate_cost(self, request: TextRequest) -> float | None:
        """Worst case: the prompt's tokens plus max_tokens of output, at the dearest of the models tried."""
        litellm = load_litellm()
        worst = 0.0
        for target in (request.target, *request.fallbacks):
            prices = self._unit_prices(target)
            if prices is None:
                return None
            try:
                prompt_tokens = int(
                    litellm.token_counter(model=target.model, messages=request.messages, tools=request.tools)
                )
            except Exception:
                prompt_tokens = sum(len(str(m.get("content") or "")) for m in request.messages) // 3 + 8
            worst = max(worst, prompt_tokens * prices[0] + request.max_tokens * prices[1])
        return worst

    def _cost(
        self, response: Any, target: ModelTarget, prompt: int, completion: int
    ) -> tuple[float | None, str]:
        if target.price is not None:
            return target.price.text_cost(prompt, completion), SOURCE_CONFIGURED
        litellm = load_litellm()
        try:
            return float(
                litellm.completion_cost(completion_response=response, model=target.model)
            ), SOURCE_TABLE
        except Exception:
            return None, SOURCE_UNKNOWN

    # ----- calls ----------------------------------------------------------------------------------
    async def complete(self, request: TextRequest) -> TextResult:
        """Call the primary model, retrying transient failures, then each fallback in turn."""
        attempts = 0
        last: AIError | None = None
        tried: list[str] = []
        for target in (request.target, *request.fallbacks):
            tried.append(target.model)
            for attempt in range(request.max_retries + 1):
                attempts += 1
                emitted: list[bool] = [False]
                try:
                    result = await self._call(request, target, emitted)
                    result.attempts = attempts
                    if target is not request.target:
                        log.warning(
                            "AI call served by fallback model %s after %s failed", target.model, tried[0]
                        )
                    return result
                except AIError as error:
                    last = error
                except Exception as exc:
                    last = map_error(exc, target.model, self._safe_vendor(target.model))
                if not isinstance(last, AIUnavailable) or emitted[0]:
                    break
                if attempt < request.max_retries:
                    await asyncio.sleep(self._delay(attempt, last))
            if last is not None and not isinstance(last, AIUnavailable):
                raise last  # auth, unknown model, refusal: a fallback would only hide it
        assert last is not None
        if len(tried) > 1:
            last.message += f" (tried {', '.join(tried)}; {attempts} attempts)"
        else:
            last.message += f" ({attempts} attempts)"
        raise last

    def _safe_vendor(self, model: str) -> str:
        try:
            return self.vendor(model)
        except AIError:
            return model.split("/", 1)[0]

    def _delay(self, attempt: int, error: AIError) -> float:
        asked = getattr(error, "retry_after_s", None)
        if asked is not None:
            return float(min(asked, self.backoff_max_s))
        delay: float = min(self.backoff_max_s, self.backoff_base_s * 2**attempt)
        return delay * (0.5 + random.random() / 2)

    def _kwargs(self, request: TextRequest, target: ModelTarget) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            "model": target.model,
            "messages": request.messages,
            "timeout": request.timeout_s,
            "max_tokens": request.max_tokens,
            "num_retries": 0,
            "max_retries": 0,
            "drop_params": True,
        }
        if target.api_base:
            kwargs["api_base"] = target.api_base
        if target.api_key:
            kwargs["api_key"] = target.api_key
        if request.temperature is not None:
            kwargs["temperature"] = request.temperature
        if request.json_mode:
            kwargs["response_format"] = {"type": "json_object"}
        if request.tools:
            kwargs["tools"] = request.tools
            if request.tool_choice is not None:
                kwargs["tool_choice"] = request.tool_choice
        return kwargs

    async def _call(self, request: TextRequest, target: ModelTarget, emitted: list[bool]) -> TextResult:
        litellm = load_litellm()
        vendor = self.vendor(target.model)
        kwargs = self._kwargs(request, target)
        if request.on_delta is None:
            response = await litellm.acompletion(**kwargs)
        else:
            response = await self._stream(litellm, kwargs, request, emitted)
        return self._result(response, target, vendor)

    async def _stream(
        self, litellm: Any, kwargs: dict[str, Any], request: TextRequest, emitted: list[bool]
    ) -> Any:
        deadline = time.monotonic() + request.timeout_s  # a read timeout alone does not bound a stream
        stream = await litellm.acompletion(**kwargs, stream=True, stream_options={"include_usage": True})
        chunks: list[Any] = []
        async for chunk in stream:
            chunks.append(chunk)
            choices = getattr(chunk, "choices", None) or []
            piece = getattr(choices[0].delta, "content", None) if choices else None
            if piece and request.on_delta is not None:
                emitted[0] = True
                request.on_delta(piece)
            if time.monotonic() > deadline:
                raise AIUnavailable(
                    f"{kwargs['model']} streamed for longer than {request.timeout_s:g} s.",
                    fix="Raise the timeout (`ocma ai set --timeout`) or ask for shorter output.",
                )
        return litellm.stream_chunk_builder(chunks, messages=request.messages)

    def _result(self, response: Any, target: ModelTarget, vendor: str) -> TextResult:
        choice = response.choices[0]
        message = choice.message
        finish = str(choice.finish_reason or "stop")
        refusal = getattr(message, "refusal", None)
        if finish == "content_filter" or refusal:
            raise AIRefused(
                f"{vendor} ({target.model}) withheld the answer"
                + (f": {refusal}" if refusal else " (its content filter stopped the output)."),
                fix="Rephrase the brief or prompt.",
            )
        usage = getattr(response, "usage", None)
        prompt = int(getattr(usage, "prompt_tokens", 0) or 0)
        completion = int(getattr(usage, "completion_tokens", 0) or 0)
        cost, source = self._cost(response, target, prompt, completion)
        calls = [
            {"id": call.id, "name": call.function.name, "arguments": call.function.arguments or "{}"}
            for call in (getattr(message, "tool_calls", None) or [])
        ]
        text = str(message.content or "")
        if not text.strip() and not calls:
            raise AIBadOutput(
                f"{vendor} ({target.model}) returned an empty answer (finish reason {finish!r}).",
                fix="Retry; if it persists, raise max_tokens or try another model.",
            )
        return TextResult(
            text=text,
            model=target.model,
            provider=vendor,
            prompt_tokens=prompt,
            completion_tokens=completion,
            cost_usd=cost,
            cost_source=source,
            finish_reason=finish,
            tool_calls=calls,
        )
