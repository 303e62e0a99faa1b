"""A loopback fake of the OpenAI API: chat completions (JSON and SSE streaming, tool calls) and image generation.

Replies are scripted with `reply(...)` (consumed in order) or computed by `responder(body)`; failures are
injected with `fail_next(kind)`. Error bodies, status codes and headers follow OpenAI's documented shapes.
Reach it through litellm with model `openai/<name>` and `api_base=fake.base_url + "/v1"`.
"""

from __future__ import annotations

import base64
import json
import math
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ocma_core.ai.testing.png import image_bytes
from ocma_core.testing.fakeserver import FakeRequest, FakeResponse, FakeServer

DEFAULT_KEY = "sk-test-openai-0123456789abcdef"
DALLE3_SIZES = {"1024x1024", "1792x1024", "1024x1792"}
GPT_IMAGE_SIZES = {"1024x1024", "1536x1024", "1024x1536", "auto"}


@dataclass
class Reply:
    """One scripted assistant turn."""

    content: str | None = None
    tool_calls: list[dict[str, Any]] = field(default_factory=list)  # [{"name":..., "arguments": {...}}]
    finish_reason: str | None = None
    refusal: str | None = None


def tokens(text: str) -> int:
    """A deterministic token count for the fake (about four characters per token)."""
    return max(1, math.ceil(len(text) / 4)) if text else 0


def _error(
    status: int,
    message: str,
    etype: str,
    code: str | None,
    headers: dict[str, str] | None = None,
    param: str | None = None,
) -> FakeResponse:
    body = {"error": {"message": message, "type": etype, "param": param, "code": code}}
    return FakeResponse(status, body, headers=dict(headers or {}))


class FakeOpenAI(FakeServer):
    """OpenAI's /v1/chat/completions and /v1/images/generations on 127.0.0.1."""

    def __init__(self, api_keys: set[str] | None = None, models: set[str] | None = None) -> None:
        super().__init__()
        self.api_keys = api_keys if api_keys is not None else {DEFAULT_KEY}
        self.models = models  # None accepts any model name
        self.image_models = {"dall-e-3", "dall-e-2", "gpt-image-1"}
        self.replies: deque[Reply | str] = deque()
        self.responder: Callable[[dict[str, Any]], Reply | str] = lambda body: "ok"
        self.failures: deque[tuple[str, float]] = deque()
        self.unsafe_words = {"forbidden-content"}
        self.files: dict[str, bytes] = {}
        self.always_url = False  # answer DALL·E requests with a temporary URL even when b64_json was asked
        self.route("POST", r"/v1/chat/completions")(self._chat)
        self.route("POST", r"/v1/images/generations")(self._images)
        self.route("GET", r"/files/(?P<name>[a-z0-9]+)\.png")(self._file)

    @property
    def api_base(self) -> str:
        """The base URL to configure (OpenAI clients append /chat/completions)."""
        return self.base_url + "/v1"

    # ----- scripting ------------------------------------------------------------------------------
    def reply(self, content: str | None = None, **kw: Any) -> None:
        """Queue the next assistant reply."""
        self.replies.append(Reply(content=content, **kw))

    def fail_next(self, kind: str, count: int = 1, retry_after_s: float = 1.0) -> None:
        """Fail the next `count` requests: server_error, unavailable, rate_limit, timeout, content_filter,
        refusal or content_policy."""
        for _ in range(count):
            self.failures.append((kind, retry_after_s))

    def chat_bodies(self) -> list[dict[str, Any]]:
        """Bodies of the chat requests received so far."""
        return [r.json() for r in self.requests_to("POST", r"/v1/chat/completions")]

    # ----- shared checks --------------------------------------------------------------------------
    def _auth(self, request: FakeRequest) -> FakeResponse | None:
        key = request.bearer()
        if not key:
            return _error(
                401,
                "You didn't provide an API key. You need to provide your API key in an "
                "Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
                "invalid_request_error",
                None,
            )
        if key not in self.api_keys:
            shown = key[:3] + "*" * 4 + key[-4:]
            return _error(
                401,
                f"Incorrect API key provided: {shown}. You can find your API key at "
                "https://platform.openai.com/account/api-keys.",
                "invalid_request_error",
                "invalid_api_key",
            )
        return None

    def _injected(self) -> tuple[str, float] | None:
        with self.lock:
            return self.failures.popleft() if self.failures else None

    def _failure_response(self, kind: str, retry_after_s: float, model: str) -> FakeResponse | None:
        if kind == "server_error":
            return _error(
                500,
                "The server had an error while processing your request. Sorry about that!",
                "server_error",
                None,
            )
        if kind == "unavailable":
            return _error(
                503, "The engine is currently overloaded, please try again later.", "server_error", None
            )
        if kind == "rate_limit":
            return _error(
                429,
                f"Rate limit reached for {model} on requests per min (RPM): Limit 3, Used 3, "
                f"Requested 1. Please try again in {retry_after_s:g}s.",
                "requests",
                "rate_limit_exceeded",
                headers={
                    "retry-after": f"{retry_after_s:g}",
                    "x-ratelimit-limit-requests": "3",
                    "x-ratelimit-remaining-requests": "0",
                    "x-ratelimit-reset-requests": f"{retry_after_s:g}s",
                },
            )
        if kind == "content_policy":
            return _error(
                400,
                "Your request was rejected as a result of our safety system. Your prompt may "
                "contain text that is not allowed by our safety system.",
                "invalid_request_error",
                "content_policy_violation",
            )
        return None

    # ----- chat completions -----------------------------------------------------------------------
    def _chat(self, request: FakeRequest) -> FakeResponse:
        denied = self._auth(request)
        if denied:
            return denied
        body = request.json() or {}
        model = str(body.get("model", ""))
        if not body.get("messages"):
            return _error(
                400,
                "Missing required parameter: 'messages'.",
                "invalid_request_error",
                "missing_required_parameter",
                param="messages",
            )
        if self.models is not None and model not in self.models:
            return _error(
                404,
                f"The model `{model}` does not exist or you do not have access to it.",
                "invalid_request_error",
                "model_not_found",
            )
        reply: Reply | str
        injected = self._injected()
        if injected:
            kind, after = injected
            if kind == "timeout":
                response = self._completion(body, self._next_reply(body))
                response.delay_s = after
                return response
            failed = self._failure_response(kind, after, model)
            if failed is not None:
                return failed
            reply = (
                Reply(content=None, finish_reason="content_filter")
                if kind == "content_filter"
                else Reply(content=None, refusal="I'm sorry, but I can't help with that request.")
            )
        else:
            reply = self._next_reply(body)
        return self._completion(body, reply)

    def _next_reply(self, body: dict[str, Any]) -> Reply | str:
        with self.lock:
            if self.replies:
                return self.replies.popleft()
        return self.responder(body)

    def _completion(self, body: dict[str, Any], reply: Reply | str) -> FakeResponse:
        if isinstance(reply, str):
            reply = Reply(content=reply)
        model = str(body["model"])
        prompt_text = json.dumps(body.get("messages")) + json.dumps(body.get("tools") or "")
        calls: list[dict[str, Any]] = [
            {
                "id": f"call_{uuid.uuid4().hex[:24]}",
                "type": "function",
                "function": {"name": c["name"], "arguments": json.dumps(c.get("arguments", {}))},
            }
            for c in reply.tool_calls
        ]
        finish = reply.finish_reason or ("tool_calls" if calls else "stop")
        completion_text = (reply.content or "") + "".join(c["function"]["arguments"] for c in calls)
        usage = {
            "prompt_tokens": tokens(prompt_text),
            "completion_tokens": tokens(completion_text),
            "total_tokens": tokens(prompt_text) + tokens(completion_text),
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {
                "reasoning_tokens": 0,
                "audio_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0,
            },
        }
        ident, created = f"chatcmpl-{uuid.uuid4().hex[:29]}", int(time.time())
        if body.get("stream"):
            return self._stream(ident, created, model, reply, calls, finish, usage, body)
        message: dict[str, Any] = {
            "role": "assistant",
            "content": reply.content,
            "refusal": reply.refusal,
            "annotations": [],
        }
        if calls:
            message["tool_calls"] = calls
        return FakeResponse(
            200,
            {
                "id": ident,
                "object": "chat.completion",
                "created": created,
                "model": model,
                "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish}],
                "usage": usage,
                "service_tier": "default",
                "system_fingerprint": "fp_fake0001",
            },
            headers={"x-request-id": f"req_{uuid.uuid4().hex[:24]}"},
        )

    def _stream(
        self,
        ident: str,
        created: int,
        model: str,
        reply: Reply,
        calls: list[dict[str, Any]],
        finish: str,
        usage: dict[str, Any],
        body: dict[str, Any],
    ) -> FakeResponse:
        def chunk(delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
            return {
                "id": ident,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "system_fingerprint": "fp_fake0001",
                "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}],
            }

        events = [chunk({"role": "assistant", "content": "", "refusal": None})]
        text = reply.content or ""
        for start in range(0, len(text), 12):
            events.append(chunk({"content": text[start : start + 12]}))
        if reply.refusal:
            events.append(chunk({"refusal": reply.refusal}))
        for index, call in enumerate(calls):
            args = call["function"]["arguments"]
            half = len(args) // 2
            events.append(
                chunk(
                    {
                        "tool_calls": [
                            {
                                "index": index,
                                "id": call["id"],
                                "type": "function",
                                "function": {"name": call["function"]["name"], "arguments": ""},
                            }
                        ]
                    }
                )
            )
            for piece in (args[:half], args[half:]):
                events.append(chunk({"tool_calls": [{"index": index, "function": {"arguments": piece}}]}))
        events.append(chunk({}, finish))
        if (body.get("stream_options") or {}).get("include_usage"):
            events.append(
                {
                    "id": ident,
                    "object": "chat.completion.chunk",
                    "created": created,
                    "model": model,
                    "system_fingerprint": "fp_fake0001",
                    "choices": [],
                    "usage": usage,
                }
            )
        payload = "".join(f"data: {json.dumps(e)}\n\n" for e in events) + "data: [DONE]\n\n"
        return FakeResponse(200, payload, headers={"Content-Type": "text/event-stream; charset=utf-8"})

    # ----- images ---------------------------------------------------------------------------------
    def _images(self, request: FakeRequest) -> FakeResponse:
        denied = self._auth(request)
        if denied:
            return denied
        body = request.json() or {}
        model = str(body.get("model") or "dall-e-2")
        prompt = str(body.get("prompt") or "")
        if model not in self.image_models:
            return _error(
                404,
                f"The model `{model}` does not exist or you do not have access to it.",
                "invalid_request_error",
                "model_not_found",
            )
        size = str(body.get("size") or "1024x1024")
        gpt_image = model.startswith("gpt-image")
        allowed = (
            GPT_IMAGE_SIZES
            if gpt_image
            else DALLE3_SIZES
            if model == "dall-e-3"
            else {"256x256", "512x512", "1024x1024"}
        )
        if size not in allowed:
            return _error(
                400,
                f"Invalid value: '{size}'. Supported values are: "
                f"{', '.join(repr(s) for s in sorted(allowed))}.",
                "invalid_request_error",
                "invalid_value",
                param="size",
            )
        if gpt_image and "response_format" in body:
            return _error(
                400,
                "Unknown parameter: 'response_format'.",
                "invalid_request_error",
                "unknown_parameter",
                param="response_format",
            )
        if model == "dall-e-3" and int(body.get("n") or 1) != 1:
            return _error(
                400, "You must provide n=1 for this model.", "invalid_request_error", None, param="n"
            )
        injected = self._injected()
        if injected:
            failed = self._failure_response(injected[0], injected[1], model)
            if failed is not None:
                return failed
        if any(word in prompt.lower() for word in self.unsafe_words):
            if gpt_image:
                return _error(
                    400,
                    "Your request was rejected by the safety system. If you believe this is an "
                    "error, contact us at help.openai.com and include the request ID.",
                    "image_generation_user_error",
                    "moderation_blocked",
                )
            return self._failure_response("content_policy", 0, model) or FakeResponse(500)
        width, height = (1024, 1024) if size == "auto" else (int(p) for p in size.split("x"))
        fmt = str(body.get("output_format") or "png") if gpt_image else "png"
        image = image_bytes(width, height, fmt, prompt)
        item: dict[str, Any] = {}
        if gpt_image or (body.get("response_format") == "b64_json" and not self.always_url):
            item["b64_json"] = base64.b64encode(image).decode("ascii")
        else:
            name = uuid.uuid4().hex
            self.files[name] = image
            item["url"] = f"{self.base_url}/files/{name}.png"
        if model == "dall-e-3":
            item["revised_prompt"] = f"A detailed rendering: {prompt}"
        result: dict[str, Any] = {"created": int(time.time()), "data": [item]}
        if gpt_image:
            result.update(
                {
                    "background": "opaque",
                    "output_format": body.get("output_format", "png"),
                    "quality": body.get("quality", "medium"),
                    "size": f"{width}x{height}",
                    "usage": {
                        "input_tokens": tokens(prompt),
                        "output_tokens": 1056,
                        "total_tokens": tokens(prompt) + 1056,
                        "input_tokens_details": {"text_tokens": tokens(prompt), "image_tokens": 0},
                    },
                }
            )
        return FakeResponse(200, result)

    def _file(self, request: FakeRequest) -> FakeResponse:
        data = self.files.get(request.params["name"])
        if data is None:
            return FakeResponse(
                404, "<Error><Code>BlobNotFound</Code></Error>", headers={"Content-Type": "application/xml"}
            )
        return FakeResponse(200, data, headers={"Content-Type": "image/png"})
