"""A fake Discord webhook API on loopback, speaking Discord's wire format (for the conformance kit).

Imitates https://discord.com/developers/docs/resources/webhook: GET /webhooks/{id}/{token}, POST with
?wait=true (JSON, or multipart with payload_json and files[n]), DELETE .../messages/{id}; errors as Discord
sends them ({"code": ..., "message": ...}), 429 with retry_after in the body, and X-RateLimit-* headers.
"""

from __future__ import annotations

import itertools
import secrets
import time
from datetime import UTC, datetime
from typing import Any

from ocma_core.testing.fakeserver import FakeRequest, FakeResponse, FakeServer

WEBHOOK = r"/webhooks/(?P<id>\d+)/(?P<token>[A-Za-z0-9_.-]+)"


class FakeDiscord(FakeServer):
    """One webhook of one channel; messages by id; failures injected on the next execute."""

    def __init__(self) -> None:
        super().__init__()
        self.webhook_id = "1190000000000000001"
        self.token = secrets.token_urlsafe(48)
        self.messages: dict[str, dict[str, Any]] = {}
        self._ids = itertools.count(1290000000000000001)
        self._failures: list[tuple[str, float, int]] = []
        self.route("GET", WEBHOOK)(self._get_webhook)
        self.route("POST", WEBHOOK)(self._execute)
        self.route("DELETE", WEBHOOK + r"/messages/(?P<message>\d+)")(self._delete)

    @property
    def webhook_url(self) -> str:
        """The URL Discord's "Copy Webhook URL" gives, on this fake."""
        return f"{self.base_url}/api/webhooks/{self.webhook_id}/{self.token}"

    # ----- what the kit drives (ocma_core.testing.conformance.FakeControl) -----------------------------
    def fail_next(self, kind: str, *, retry_after_s: float = 30.0, skip: int = 0) -> None:
        """Fail a coming execute: rate_limit, auth, server_error or timeout_after_store."""
        self._failures.append((kind, retry_after_s, skip))

    def expire_tokens(self) -> None:
        """Reset the webhook's token, as "Regenerate" in Discord does."""
        self.token = secrets.token_urlsafe(48)

    def published_texts(self) -> list[str]:
        """Contents of the messages in the channel now."""
        return [message["content"] for message in self.messages.values()]

    def parent_of(self, external_id: str) -> str | None:
        """Webhook messages reply to nothing."""
        return None

    # ----- the API -------------------------------------------------------------------------------------
    def _known(self, request: FakeRequest) -> FakeResponse | None:
        if request.params["id"] != self.webhook_id:
            return FakeResponse(404, {"message": "Unknown Webhook", "code": 10015})
        if request.params["token"] != self.token:
            return FakeResponse(401, {"message": "Invalid Webhook Token", "code": 50027})
        return None

    def _get_webhook(self, request: FakeRequest) -> FakeResponse | dict[str, Any]:
        refused = self._known(request)
        if refused is not None:
            return refused
        return {
            "type": 1,
            "id": self.webhook_id,
            "name": "OCMA announcements",
            "channel_id": "1180000000000000001",
            "guild_id": "1170000000000000001",
            "application_id": None,
            "token": self.token,
        }

    def _execute(self, request: FakeRequest) -> FakeResponse:
        refused = self._known(request)
        if refused is not None:
            return refused
        failure = self._take_failure()
        if failure is not None and failure[0] != "timeout_after_store":
            return self._failure(*failure)
        if request.header("content-type").startswith("multipart/form-data"):
            parts = request.multipart()
            payload = parts["payload_json"].json()
            files = [part for name, part in parts.items() if name.startswith("files[")]
        else:
            payload, files = request.json(), []
        content = str(payload.get("content") or "")
        if not content and not files:
            return FakeResponse(400, {"message": "Cannot send an empty message", "code": 50006})
        if len(content) > 2000:
            errors = {
                "content": {
                    "_errors": [
                        {"code": "BASE_TYPE_MAX_LENGTH", "message": "Must be 2000 or fewer in length."}
                    ]
                }
            }
            return FakeResponse(400, {"message": "Invalid Form Body", "code": 50035, "errors": errors})
        message_id = str(next(self._ids))
        self.messages[message_id] = {
            "id": message_id,
            "type": 0,
            "content": content,
            "channel_id": "1180000000000000001",
            "webhook_id": self.webhook_id,
            "attachments": [
                {"id": str(n), "filename": f.filename, "size": len(f.data)} for n, f in enumerate(files)
            ],
            "timestamp": datetime.now(UTC).isoformat(),
        }
        if request.query.get("wait") != "true":
            return FakeResponse(204)
        headers = {
            "X-RateLimit-Limit": "5",
            "X-RateLimit-Remaining": "4",
            "X-RateLimit-Reset": f"{time.time() + 2:.3f}",
            "X-RateLimit-Reset-After": "2.000",
            "X-RateLimit-Bucket": "fake-webhook-bucket",
        }
        delay = 5.0 if failure is not None else 0.0  # timeout_after_store: stored, answered too late
        return FakeResponse(200, self.messages[message_id], headers, delay_s=delay)

    def _delete(self, request: FakeRequest) -> FakeResponse:
        refused = self._known(request)
        if refused is not None:
            return refused
        if self.messages.pop(request.params["message"], None) is None:
            return FakeResponse(404, {"message": "Unknown Message", "code": 10008})
        return FakeResponse(204)

    def _take_failure(self) -> tuple[str, float] | None:
        if not self._failures:
            return None
        kind, retry_after_s, skip = self._failures[0]
        if skip:
            self._failures[0] = (kind, retry_after_s, skip - 1)
            return None
        self._failures.pop(0)
        return kind, retry_after_s

    def _failure(self, kind: str, retry_after_s: float) -> FakeResponse:
        if kind == "rate_limit":  # Discord gives the wait in the body (seconds, fractional)
            body = {"message": "You are being rate limited.", "retry_after": retry_after_s, "global": False}
            return FakeResponse(429, body, {"X-RateLimit-Scope": "shared"})
        if kind == "auth":
            return FakeResponse(401, {"message": "Invalid Webhook Token", "code": 50027})
        return FakeResponse(502, {"message": "Bad Gateway", "code": 0})
