"""HTTP helpers for AI provider plugins that speak a vendor's REST API with httpx.

`send` retries only what is known not to have been processed (HTTP 429/502/503/504 and connection failures),
never a timeout after the request was sent (a generation may have been made and billed). `status_error` turns a
failed response into the matching AI error with the vendor's own message.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from ocma_core.ai.errors import AIAuthFailed, AIError, AIRateLimited, AIRefused, AIUnavailable, AIUnknownModel

if TYPE_CHECKING:
    import httpx

RETRY_STATUSES = {429, 502, 503, 504}


def _wait(response: httpx.Response | None, attempt: int, base_s: float) -> float:
    if response is not None:
        value = response.headers.get("retry-after")
        if value:
            try:
                return min(30.0, float(value))
            except ValueError:
                pass
    from ocma_core.backoff import AI_CALL, Backoff

    schedule = AI_CALL if base_s == AI_CALL.base_s else Backoff(base_s, AI_CALL.cap_s)
    return schedule.delay_s(attempt)


async def send(
    method: str,
    url: str,
    *,
    vendor: str,
    model: str,
    timeout_s: float,
    retries: int = 2,
    backoff_base_s: float = 0.5,
    untrusted_endpoint: bool = False,
    **kwargs: Any,
) -> httpx.Response:
    """Send a request, retrying rate limits, gateway errors and refused connections; returns the last response.

    `untrusted_endpoint` (a workspace chose the URL, or a provider's answer named it): the request goes
    through the guarded client of `ocma_core.net` (public addresses only, no proxies, no redirects)."""
    import httpx

    from ocma_core.net import guarded_async_client

    timeout = httpx.Timeout(timeout_s, connect=min(10.0, timeout_s))
    client = guarded_async_client(timeout_s=timeout_s) if untrusted_endpoint else httpx.AsyncClient()
    client.timeout = timeout
    async with client:
        for attempt in range(retries + 1):
            try:
                response = await client.request(method, url, **kwargs)
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                if attempt < retries:
                    await asyncio.sleep(_wait(None, attempt, backoff_base_s))
                    continue
                raise AIUnavailable(
                    f"{vendor} ({model}) cannot be reached: {exc}.",
                    fix="Check the network and the API base URL, then retry.",
                ) from None
            except httpx.TimeoutException:
                raise AIUnavailable(
                    f"{vendor} ({model}) did not answer within {timeout_s:g} s.",
                    fix="Retry later; the provider may still have generated (and billed) it.",
                ) from None
            except httpx.HTTPError as exc:
                raise AIUnavailable(
                    f"{vendor} ({model}) request failed: {exc}.", fix="Retry later."
                ) from None
            if response.status_code in RETRY_STATUSES and attempt < retries:
                await asyncio.sleep(_wait(response, attempt, backoff_base_s))
                continue
            return response
    raise AssertionError("unreachable")


def status_error(
    response: httpx.Response,
    *,
    vendor: str,
    model: str,
    message: str,
    code: str = "",
    refusal_codes: tuple[str, ...] = (),
) -> AIError:
    """The AI error for a failed response (`message` and `code` as the vendor reported them)."""
    status = response.status_code
    where = f"{vendor} ({model})"
    key_hint = f"`ocma ai key {vendor}` (workspace) or the {vendor.upper()}_API_KEY variable"
    if code in refusal_codes:
        return AIRefused(f"{where} refused the request: {message}", fix="Rephrase the prompt.")
    if status in (401, 403):
        return AIAuthFailed(
            f"{where} rejected the API key (HTTP {status}): {message}", fix=f"Check the key: {key_hint}."
        )
    if status == 404:
        return AIUnknownModel(
            f"{where}: {message}", fix="Check the model name in the provider's documentation."
        )
    if status == 402:
        return AIError(
            f"{where} refused the call for billing reasons: {message}",
            fix="Add credits or a payment method on the provider's account.",
        )
    if status == 429:
        return AIRateLimited(f"{where} is rate limiting this key: {message}", fix="Wait and retry.")
    if status >= 500:
        return AIUnavailable(f"{where} failed with HTTP {status}: {message}", fix="Retry later.")
    return AIError(
        f"{where} refused the request (HTTP {status}): {message}", fix="Check the request parameters."
    )
