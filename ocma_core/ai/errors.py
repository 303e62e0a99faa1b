"""Errors of AI calls: each says what went wrong and how to fix it (API problem+json, CLI message, agent tool error)."""

from __future__ import annotations

from ocma_core.errors import ConfigError, OcmaError


class AIError(OcmaError):
    """A provider call failed; the message carries the provider's own reason."""

    status_code = 502
    title = "AI provider error"
    retryable = False


class AINotConfigured(ConfigError):
    """No model, provider plugin or API key is configured for this call."""

    status_code = 503
    title = "AI not configured"


class AIAuthFailed(AIError):
    """The provider rejected the API key (401/403)."""

    title = "AI provider rejected the key"


class AIUnknownModel(AIError):
    """The model name is not known to the library or the provider."""

    status_code = 422
    title = "Unknown AI model"


class AIUnavailable(AIError):
    """The provider is down, overloaded or timed out (after retries and fallbacks)."""

    status_code = 503
    title = "AI provider unavailable"
    retryable = True


class AIRateLimited(AIUnavailable):
    """The provider refused the call for rate or quota reasons."""

    status_code = 429
    title = "AI provider rate limit"


class AIRefused(AIError):
    """The provider's safety system refused the request or withheld the output."""

    status_code = 422
    title = "Refused by the AI provider's safety system"


class AIBadOutput(AIError):
    """The model answered, but not in the form asked for (after a retry)."""

    title = "Unusable AI output"


class BudgetExceeded(OcmaError):
    """The call would take the workspace over its daily or monthly AI budget."""

    status_code = 402
    title = "AI budget exhausted"
