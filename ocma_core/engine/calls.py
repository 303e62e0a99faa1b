"""One platform call made as an account: token refresh, rate readings, a metric and an audit row, always."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from ocma_core.api.metrics import ATTEMPTS
from ocma_core.context import Ocma
from ocma_core.db.models import Account
from ocma_core.db.types import utcnow
from ocma_core.engine import transitions
from ocma_core.engine.refresh import call_with_refresh
from ocma_core.errors import OcmaError, PlatformError
from ocma_core.observe import tracing
from ocma_core.platforms import AccountContext, Platform

T = TypeVar("T")
log = logging.getLogger(__name__)


async def recorded_call(
    ocma: Ocma,
    platform: Platform,
    account_id: str,
    fn: Callable[[AccountContext], Awaitable[T]],
    *,
    target_id: str,
    action: str,
    worker: str,
    summary: str,
    contexts: list[AccountContext],
    outcome_of: Callable[[PlatformError], str] | None = None,
    account: Account | None = None,
) -> T:
    """Run `fn(ctx)` through `call_with_refresh` and record it as a PublishAttempt (`action`, outcome, time).

    Each context used is appended to `contexts` with an empty `_rate_limits` list, which `Platform.send()`
    fills with the platform's rate-limit headers (the caller hands them to the budgets). `account`, when the
    caller has just read it, saves reading it again. Inside a publish (transitions.AUDIT set) the audit row is
    stored with the target's next state change, in the same transaction; elsewhere in one of its own.
    """

    invoked = False

    async def with_ctx(ctx: AccountContext) -> T:
        nonlocal invoked
        invoked = True
        ctx.settings["_rate_limits"] = []
        contexts.append(ctx)
        return await fn(ctx)

    started, t0 = utcnow(), time.perf_counter()
    outcome, status, error = "ok", None, None
    attributes = {"ocma.platform": platform.name, "ocma.action": action, "ocma.target_id": target_id}
    with tracing.span(f"{platform.name} {action}", attributes, kind="client") as current:
        try:
            return await call_with_refresh(ocma, account_id, platform, with_ctx, account=account)
        except PlatformError as exc:
            outcome = outcome_of(exc) if outcome_of else type(exc).__name__
            status, error = exc.status, exc.message
            raise
        except OcmaError as exc:  # a local failure (unreadable tokens, configuration): nothing was sent
            outcome, error = "not_sent", str(exc)
            raise
        except Exception as exc:
            outcome, error = ("error" if invoked else "not_sent"), repr(exc)
            raise
        finally:
            tracing.set_attribute(current, "ocma.outcome", outcome)
            tracing.set_attribute(current, "http.response.status_code", status)
            ATTEMPTS.labels(platform.name, outcome).inc()
            attempt = transitions.AttemptRecord(
                target_id=target_id,
                action=action,
                outcome=outcome,
                http_status=status,
                error=error,
                worker=worker,
                request_summary=summary,
                started_at=started,
                duration_ms=(time.perf_counter() - t0) * 1000,
            )
            pending = transitions.AUDIT.get()
            try:
                if pending is not None:
                    pending.append(attempt)
                else:
                    await asyncio.to_thread(transitions.add_attempt, ocma, attempt)
            except Exception:
                # The platform's answer is the fact: a lost audit row must not turn it into "outcome unknown"
                # (a post the platform accepted would be published twice on a platform without look-up).
                log.exception("could not record the %s attempt of target %s (%s)", action, target_id, outcome)
