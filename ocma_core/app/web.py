"""For plugins adding HTTP routes: the caller's identity and permission check, errors, schemas, and inbound
webhook receivers (register_webhook_receivers).

Part of the public app API (`ocma_core.app`): names here keep their meaning within a minor release."""

from __future__ import annotations

from ocma_core.api.auth import Caller, get_ocma, require
from ocma_core.api.openapi import errors
from ocma_core.api.problems import problem
from ocma_core.api.schemas import PostOut
from ocma_core.webhook_receivers import WebhookReceiver, WebhookRefused

__all__ = [
    "Caller",
    "PostOut",
    "WebhookReceiver",
    "WebhookRefused",
    "errors",
    "get_ocma",
    "problem",
    "require",
]
