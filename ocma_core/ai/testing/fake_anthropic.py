"""A loopback fake of Anthropic's Messages API (POST /v1/messages, JSON and SSE streaming, tool use).

Reach it through litellm with model `anthropic/<name>` and api_base (or ANTHROPIC_API_BASE) = fake.base_url;
litellm appends /v1/messages. Error bodies follow Anthropic's `{"type": "error", "error": {...}}` shape.
"""

from __future__ import annotations

import json
import uuid
from collections import deque
from collections.abc import Callable
from typing import Any

from ocma_core.ai.testing.fake_openai import Reply, tokens
from ocma_core.testing.fakeserver import FakeRequest, FakeResponse, FakeServer

DEFAULT_KEY = "sk-ant-test-0123456789abcdef"
API_VERSION = "2023-06-01"


def _error(status: int, etype: str, message: str, headers: dict[str, str] | None = None) -> FakeResponse:
    body = {
        "type": "error",
        "error": {"type": etype, "message": message},
        "request_id": f"req_{uuid.uuid4().hex}",
    }
    return FakeResponse(status, body, headers=dict(headers or {}))


class FakeAnthropic(FakeServer):
    """Anthropic's /v1/messages on 127.0.0.1."""

    def __init__(self, api_keys: set[str] | None = None, models: set[str] | None = None) -> None:
        super().__init__()
        self.api_keys = api_keys if api_keys is not None else {DEFAULT_KEY}
        self.models = models
        self.replies: deque[Reply | str] = deque()
        self.responder: Callable[[dict[str, Any]], Reply | str] = lambda body: "ok"
        self.failures: deque[tuple[str, float]] = deque()
        self.route("POST", r"/v1/messages")(self._messages)

    def reply(self, content: str | None = None, **kw: Any) -> None:
        """Queue the next assistant reply."""
        self.replies.append(Reply(content=content, **kw))

    def fail_next(self, kind: str, count: int = 1, retry_after_s: float = 1.0) -> None:
        """Fail the next requests: overloaded, server_error, rate_limit or refusal."""
        for _ in range(count):
            self.failures.append((kind, retry_after_s))

    def bodies(self) -> list[dict[str, Any]]:
        """Bodies of the message requests received so far."""
        return [r.json() for r in self.requests_to("POST", r"/v1/messages")]

    def _messages(self, request: FakeRequest) -> FakeResponse:
        key = request.header("x-api-key")
        if not key or key not in self.api_keys:
            return _error(401, "authentication_error", "invalid x-api-key")
        if not request.header("anthropic-version"):
            return _error(400, "invalid_request_error", "anthropic-version: header is required")
        body = request.json() or {}
        model = str(body.get("model", ""))
        if "max_tokens" not in body:
            return _error(400, "invalid_request_error", "max_tokens: Field required")
        if self.models is not None and model not in self.models:
            return _error(404, "not_found_error", f"model: {model}")
        reply: Reply | str
        with self.lock:
            injected = self.failures.popleft() if self.failures else None
        if injected:
            kind, after = injected
            if kind == "overloaded":
                return _error(529, "overloaded_error", "Overloaded")
            if kind == "server_error":
                return _error(500, "api_error", "Internal server error")
            if kind == "rate_limit":
                return _error(
                    429,
                    "rate_limit_error",
                    "Number of request tokens has exceeded your per-minute rate limit.",
                    headers={"retry-after": f"{after:g}"},
                )
            reply = Reply(content=None, finish_reason="refusal")
        else:
            with self.lock:
                reply = self.replies.popleft() if self.replies else self.responder(body)
        if isinstance(reply, str):
            reply = Reply(content=reply)
        return self._message(body, model, reply)

    def _message(self, body: dict[str, Any], model: str, reply: Reply) -> FakeResponse:
        blocks: list[dict[str, Any]] = []
        if reply.content:
            blocks.append({"type": "text", "text": reply.content})
        for call in reply.tool_calls:
            blocks.append(
                {
                    "type": "tool_use",
                    "id": f"toolu_{uuid.uuid4().hex[:24]}",
                    "name": call["name"],
                    "input": call.get("arguments", {}),
                }
            )
        stop = reply.finish_reason or ("tool_use" if reply.tool_calls else "end_turn")
        input_tokens = tokens(json.dumps(body.get("messages")) + json.dumps(body.get("system") or ""))
        output_tokens = tokens(
            (reply.content or "") + json.dumps([c.get("arguments") for c in reply.tool_calls])
        )
        usage = {
            "input_tokens": input_tokens,
            "output_tokens": output_tokens,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
        }
        ident = f"msg_{uuid.uuid4().hex[:24]}"
        if body.get("stream"):
            return self._stream(ident, model, blocks, stop, usage)
        return FakeResponse(
            200,
            {
                "id": ident,
                "type": "message",
                "role": "assistant",
                "model": model,
                "content": blocks,
                "stop_reason": stop,
                "stop_sequence": None,
                "usage": usage,
            },
        )

    def _stream(
        self, ident: str, model: str, blocks: list[dict[str, Any]], stop: str, usage: dict[str, Any]
    ) -> FakeResponse:
        events: list[tuple[str, dict[str, Any]]] = [
            (
                "message_start",
                {
                    "type": "message_start",
                    "message": {
                        "id": ident,
                        "type": "message",
                        "role": "assistant",
                        "model": model,
                        "content": [],
                        "stop_reason": None,
                        "stop_sequence": None,
                        "usage": {**usage, "output_tokens": 1},
                    },
                },
            ),
            ("ping", {"type": "ping"}),
        ]
        for index, block in enumerate(blocks):
            if block["type"] == "text":
                events.append(
                    (
                        "content_block_start",
                        {
                            "type": "content_block_start",
                            "index": index,
                            "content_block": {"type": "text", "text": ""},
                        },
                    )
                )
                text = block["text"]
                for start in range(0, len(text), 10):
                    events.append(
                        (
                            "content_block_delta",
                            {
                                "type": "content_block_delta",
                                "index": index,
                                "delta": {"type": "text_delta", "text": text[start : start + 10]},
                            },
                        )
                    )
            else:
                events.append(
                    (
                        "content_block_start",
                        {
                            "type": "content_block_start",
                            "index": index,
                            "content_block": {**block, "input": {}},
                        },
                    )
                )
                partial = json.dumps(block["input"])
                events.append(
                    (
                        "content_block_delta",
                        {
                            "type": "content_block_delta",
                            "index": index,
                            "delta": {"type": "input_json_delta", "partial_json": partial},
                        },
                    )
                )
            events.append(("content_block_stop", {"type": "content_block_stop", "index": index}))
        events.append(
            (
                "message_delta",
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": stop, "stop_sequence": None},
                    "usage": {"output_tokens": usage["output_tokens"]},
                },
            )
        )
        events.append(("message_stop", {"type": "message_stop"}))
        payload = "".join(f"event: {name}\ndata: {json.dumps(data)}\n\n" for name, data in events)
        return FakeResponse(200, payload, headers={"Content-Type": "text/event-stream; charset=utf-8"})
