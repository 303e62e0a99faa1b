"""The built-in click receiver, registered through the same hooks as any plugin's: `POST /webhooks/analytics`
(register_webhook_receivers) and the reports' "clicks" section (register_analyzers). Loaded with the
plugins, so it imports nothing heavy until a delivery or a report comes (disable: OCMA_DISABLED_PLUGINS=
link_clicks)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ocma_core.hookspecs import hookimpl
from ocma_core.webhook_receivers import WebhookReceiver, WebhookRefused

if TYPE_CHECKING:
    from ocma_core.analytics.base import AnalysisContext
    from ocma_core.context import Ocma

NAME = "analytics"
WORKSPACE_HEADER = "ocma-workspace"


def _workspace(ocma: Ocma, headers: dict[str, str]) -> str:
    """The workspace the delivery is for: the `ocma-workspace` header, else the only one with a secret."""
    from ocma_core.clicks.secret import configured_workspaces

    named = headers.get(WORKSPACE_HEADER, "").strip()
    configured = configured_workspaces(ocma)
    if named:
        if named not in configured:
            raise WebhookRefused(
                f"{WORKSPACE_HEADER} names no workspace whose click receiver has a secret.", 401
            )
        return named
    if len(configured) == 1:
        return configured[0]
    if not configured:
        raise WebhookRefused(
            "No workspace takes clicks yet: create the receiver's secret with `ocma clicks secret`.", 503
        )
    raise WebhookRefused(
        f"Several workspaces take clicks: send the {WORKSPACE_HEADER} header with the workspace's id.", 400
    )


def handle(ocma: Ocma, headers: dict[str, str], body: bytes) -> dict[str, Any]:
    """Verify a delivery (Standard Webhooks, the workspace's secret), validate all of it, store it once."""
    from ocma_core.clicks.payload import Invalid, parse
    from ocma_core.clicks.secret import Refused, verify
    from ocma_core.clicks.store import store

    workspace_id = _workspace(ocma, headers)
    try:
        webhook_id = verify(ocma, workspace_id, headers, body)
    except Refused as exc:
        raise WebhookRefused(exc.message, exc.status, exc.outcome) from None
    try:
        return store(ocma, workspace_id, webhook_id, parse(body)).as_dict()
    except Invalid as exc:
        raise WebhookRefused(exc.message, 422) from None


class Clicks:
    """Link clicks measured by the workspace's analytics (POST /webhooks/analytics), per post and campaign."""

    name = "clicks"
    title = "Link clicks"
    in_report = True

    def run(self, ctx: AnalysisContext) -> dict[str, Any]:
        """See ocma_core.clicks.views.report_section."""
        from ocma_core.clicks.views import report_section

        return report_section(ctx)


@hookimpl
def register_webhook_receivers(register: Callable[[WebhookReceiver], None]) -> None:
    """POST /webhooks/analytics."""
    register(WebhookReceiver(NAME, handle, "Link clicks from your analytics, signed (Standard Webhooks)"))


@hookimpl
def register_analyzers(register: Callable[[Any], None]) -> None:
    """The reports' "clicks" section."""
    register(Clicks())
