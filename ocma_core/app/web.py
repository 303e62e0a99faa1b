"""For plugins adding HTTP routes: the caller and its permission check, errors, schemas, If-Match, webhooks.

`if_match_header` declares the If-Match header of a conditional change; inbound webhook receivers are added
through register_webhook_receivers.

Part of the public app API (`ocma_core.app`): names here keep their meaning within a minor release."""

from __future__ import annotations

from ocma_core.api.auth import Caller, get_ocma, require
from ocma_core.api.openapi import errors, if_match_header
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
    "if_match_header",
    "problem",
    "require",
]
