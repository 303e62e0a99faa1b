"""Map litellm's exceptions (OpenAI-style classes) to OCMA's AI errors, keeping the provider's own words."""

from __future__ import annotations

import json
import re
from email.utils import parsedate_to_datetime
from typing import Any

from ocma_core.ai import (
    AIAuthFailed,
    AIError,
    AIRateLimited,
    AIRefused,
    AIUnavailable,
    AIUnknownModel,
)

SAFETY_CODES = ("content_policy_violation", "moderation_blocked", "content_filter")
_PREFIX = re.compile(r"^(litellm\.\w+:\s*)+(\w+Error:\s*)?(\w+(Exception|Error)\s*-\s*)?")


def provider_message(exc: BaseException) -> str:
    """The provider's message without litellm's class-name prefixes."""
    text = str(getattr(exc, "message", None) or exc)
    text = _PREFIX.sub("", text).strip()
    start = text.find("{")
    if start >= 0:  # some providers' errors arrive as the raw JSON body: keep its message
        try:
            body = json.loads(text[start:])
            inner = body.get("error", body) if isinstance(body, dict) else {}
            if isinstance(inner, dict) and inner.get("message"):
                kind = inner.get("type")
                text = f"{inner['message']}" + (f" ({kind})" if isinstance(kind, str) else "")
        except ValueError:
            pass
    return text.split("\n", 1)[0][:500] or type(exc).__name__


def error_code(exc: BaseException) -> str:
    """The provider's error code from the body, when there is one."""
    code = getattr(exc, "code", None)
    if isinstance(code, str):
        return code
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and isinstance(inner.get("code") or inner.get("type"), str):
            return str(inner.get("code") or inner.get("type"))
    return ""


def retry_after_s(exc: BaseException) -> float | None:
    """Seconds the provider asked us to wait (Retry-After / retry-after-ms), if it said."""
    response = getattr(exc, "response", None)
    headers: Any = getattr(response, "headers", None) or getattr(exc, "headers", None) or {}
    try:
        if headers.get("retry-after-ms"):
            return float(headers["retry-after-ms"]) / 1000.0
        value = headers.get("retry-after")
    except AttributeError:
        return None
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        try:
            from datetime import UTC, datetime

            return max(0.0, (parsedate_to_datetime(value) - datetime.now(UTC)).total_seconds())
        except (TypeError, ValueError):
            return None


def map_error(exc: BaseException, model: str, vendor: str) -> AIError:
    """The OCMA error for a litellm exception raised while calling `model`."""
    from litellm import exceptions as litellm

    message = provider_message(exc)
    code = error_code(exc)
    where = f"{vendor} ({model})"
    if isinstance(exc, litellm.AuthenticationError | litellm.PermissionDeniedError):
        return AIAuthFailed(
            f"{where} rejected the API key: {message}",
            fix=f"Check the key: `ocma ai key {vendor}` (workspace) or the {vendor.upper()}_API_KEY variable.",
        )
    if (
        isinstance(exc, litellm.ContentPolicyViolationError)
        or code in SAFETY_CODES
        or (isinstance(exc, litellm.BadRequestError) and "safety system" in message.lower())
    ):
        return AIRefused(
            f"{where} refused the request: {message}",
            fix="Rephrase the brief or prompt; nothing was generated or charged for this call.",
        )
    if isinstance(exc, litellm.NotFoundError) or code == "model_not_found":
        return AIUnknownModel(
            f"{where}: {message}",
            fix="Check the model name with the provider, then set it with `ocma ai set --model ...`.",
        )
    if isinstance(exc, litellm.RateLimitError):
        wait = retry_after_s(exc)
        error = AIRateLimited(
            f"{where} is rate limiting this key: {message}",
            fix="Wait and retry, or raise the limits on the provider's account."
            + (f" The provider asked to wait {wait:g} s." if wait else ""),
        )
        error.retry_after_s = wait  # type: ignore[attr-defined]
        return error
    if isinstance(exc, litellm.Timeout):
        return AIUnavailable(
            f"{where} did not answer in time: {message}",
            fix="Retry later, raise the timeout (`ocma ai set --timeout`), or add a fallback model.",
        )
    if isinstance(
        exc,
        litellm.ServiceUnavailableError
        | litellm.InternalServerError
        | litellm.APIConnectionError
        | litellm.BadGatewayError,
    ):
        return AIUnavailable(
            f"{where} is unavailable: {message}",
            fix="Retry later, or configure a fallback model (`ocma ai set --fallback ...`).",
        )
    if isinstance(exc, litellm.BadRequestError) and "LLM Provider NOT provided" in message:
        return AIUnknownModel(
            f"litellm does not know which provider serves the model {model!r}.",
            fix="Use a litellm model string with the provider prefix, e.g. openai/gpt-4o-mini, "
            "anthropic/claude-sonnet-4-5, gemini/gemini-2.5-flash or ollama_chat/llama3.1 "
            "(https://docs.litellm.ai/docs/providers).",
        )
    status = getattr(exc, "status_code", None)
    if isinstance(status, int) and status >= 500:
        return AIUnavailable(f"{where} failed with HTTP {status}: {message}", fix="Retry later.")
    return AIError(
        f"{where} refused the call: {message}", fix="Check the model's parameters and the request."
    )
