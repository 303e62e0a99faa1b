"""A loopback fake of Stability AI's Stable Image API (v2beta generate: ultra, core, sd3).

Multipart/form-data in; JSON (`accept: application/json`) or raw bytes (`accept: image/*`) out; errors in
Stability's {"id", "name", "errors"} shape; content moderation as HTTP 403.
"""

from __future__ import annotations

import base64
import math
import uuid
from collections import deque

from ocma_core.ai.testing.multipart import form_fields
from ocma_core.ai.testing.png import image_bytes
from ocma_core.testing.fakeserver import FakeRequest, FakeResponse, FakeServer

DEFAULT_KEY = "sk-stability-test-0123456789"
RATIOS = {"21:9", "16:9", "3:2", "5:4", "1:1", "4:5", "2:3", "9:16", "9:21"}
SD3_MODELS = {"sd3.5-large", "sd3.5-large-turbo", "sd3.5-medium", "sd3.5-flash"}
FORMATS = {"png", "jpeg", "webp"}


def _error(status: int, name: str, *errors: str) -> FakeResponse:
    return FakeResponse(status, {"id": uuid.uuid4().hex, "name": name, "errors": list(errors)})


def pixels(ratio: str) -> tuple[int, int]:
    """About one megapixel at the ratio, in multiples of 64."""
    w, h = (int(p) for p in ratio.split(":"))
    height = math.sqrt(1024 * 1024 * h / w)
    return int(round(height * w / h / 64) * 64), int(round(height / 64) * 64)


class FakeStability(FakeServer):
    """POST /v2beta/stable-image/generate/{ultra,core,sd3} on 127.0.0.1."""

    def __init__(self, api_keys: set[str] | None = None) -> None:
        super().__init__()
        self.api_keys = api_keys if api_keys is not None else {DEFAULT_KEY}
        self.moderated_words = {"forbidden-content"}
        self.filtered_words = {"filtered-output"}
        self.failures: deque[str] = deque()
        self.route("POST", r"/v2beta/stable-image/generate/(?P<service>ultra|core|sd3)")(self._generate)

    def fail_next(self, kind: str, count: int = 1) -> None:
        """Fail the next requests: server_error, rate_limit or payment."""
        self.failures.extend([kind] * count)

    def forms(self) -> list[dict[str, str]]:
        """Form fields of every generate request so far."""
        found = []
        for request in self.requests_to("POST", r"/v2beta/stable-image/generate/.*"):
            found.append(form_fields(request.header("content-type"), request.body) or {})
        return found

    def _generate(self, request: FakeRequest) -> FakeResponse:
        if request.bearer() not in self.api_keys:
            return _error(401, "unauthorized", "authorization: invalid or missing header value")
        fields = form_fields(request.header("content-type"), request.body)
        if fields is None:
            return _error(400, "bad_request", "content-type: must be multipart/form-data")
        with self.lock:
            kind = self.failures.popleft() if self.failures else None
        if kind == "server_error":
            return _error(
                500, "internal_error", "An unexpected server error has occurred, please try again later."
            )
        if kind == "rate_limit":
            return _error(
                429,
                "rate_limit_exceeded",
                "You have exceeded the rate limit of 150 requests within a "
                "10 second period, and have been timed out for 60 seconds.",
            )
        if kind == "payment":
            return _error(
                402,
                "payment_required",
                "You lack sufficient credits to make this request. Please "
                "purchase more credits at https://platform.stability.ai/account/credits and try again.",
            )
        prompt = fields.get("prompt", "")
        ratio = fields.get("aspect_ratio", "1:1")
        fmt = fields.get("output_format", "png")
        problems = []
        if not prompt:
            problems.append("prompt: cannot be empty")
        if ratio not in RATIOS:
            problems.append(f"aspect_ratio: must be one of {', '.join(sorted(RATIOS))}")
        if fmt not in FORMATS:
            problems.append("output_format: must be one of png, jpeg, webp")
        if request.params["service"] == "sd3" and fields.get("model", "sd3.5-large") not in SD3_MODELS:
            problems.append(f"model: must be one of {', '.join(sorted(SD3_MODELS))}")
        if problems:
            return _error(400, "bad_request", *problems)
        if any(word in prompt.lower() for word in self.moderated_words):
            return _error(
                403,
                "content_moderation",
                "Your request was flagged by our content moderation system, "
                "as a result your request was denied and you were not charged.",
            )
        width, height = pixels(ratio)
        data = image_bytes(width, height, fmt, prompt + ratio)
        finish = "CONTENT_FILTERED" if any(w in prompt.lower() for w in self.filtered_words) else "SUCCESS"
        seed = int.from_bytes(uuid.uuid4().bytes[:4], "big")
        if request.header("accept", "image/*").startswith("application/json"):
            return FakeResponse(
                200, {"image": base64.b64encode(data).decode("ascii"), "finish_reason": finish, "seed": seed}
            )
        return FakeResponse(
            200, data, headers={"Content-Type": f"image/{fmt}", "finish-reason": finish, "seed": str(seed)}
        )
