"""A loopback fake of Runware's task API: POST /v1 with a JSON array of tasks, {"data"} or {"errors"} back."""

from __future__ import annotations

import base64
import uuid
from collections import deque
from typing import Any

from ocma_core.ai.testing.png import image_bytes
from ocma_core.testing.fakeserver import FakeRequest, FakeResponse, FakeServer

DEFAULT_KEY = "runware-test-key-0123456789"
FORMATS = {"PNG": "png", "JPG": "jpeg", "WEBP": "webp"}


def _errors(status: int, *errors: dict[str, Any]) -> FakeResponse:
    return FakeResponse(status, {"errors": list(errors)})


class FakeRunware(FakeServer):
    """Runware's REST endpoint on 127.0.0.1 (imageInference tasks)."""

    def __init__(self, api_keys: set[str] | None = None) -> None:
        super().__init__()
        self.api_keys = api_keys if api_keys is not None else {DEFAULT_KEY}
        self.cost_per_image = (
            0.0038  # what this fake reports with includeCost (a test value, not a price list)
        )
        self.nsfw_words = {"forbidden-content"}
        self.failures: deque[str] = deque()
        self.route("POST", r"/v1/?")(self._tasks)

    @property
    def api_base(self) -> str:
        """The URL to configure."""
        return self.base_url + "/v1"

    def fail_next(self, kind: str, count: int = 1) -> None:
        """Fail the next requests: server_error or credits."""
        self.failures.extend([kind] * count)

    def tasks(self) -> list[dict[str, Any]]:
        """Every imageInference task received."""
        found = []
        for request in self.requests_to("POST", r"/v1/?"):
            body = request.json()
            found += [t for t in body if isinstance(t, dict) and t.get("taskType") == "imageInference"]
        return found

    def _tasks(self, request: FakeRequest) -> FakeResponse:
        try:
            body = request.json()
        except ValueError:
            body = None
        if not isinstance(body, list):
            return _errors(
                400,
                {
                    "code": "invalidPayload",
                    "message": "The request body must be a JSON array of task objects.",
                },
            )
        key = request.bearer() or next(
            (t.get("apiKey") for t in body if isinstance(t, dict) and t.get("taskType") == "authentication"),
            None,
        )
        if key not in self.api_keys:
            return _errors(
                401,
                {
                    "code": "invalidApiKey",
                    "message": "Invalid API key. Get one at https://my.runware.ai/signup",
                    "parameter": "apiKey",
                    "taskType": "authentication",
                },
            )
        with self.lock:
            kind = self.failures.popleft() if self.failures else None
        if kind == "server_error":
            return _errors(
                500, {"code": "internalError", "message": "An internal error occurred. Please retry."}
            )
        if kind == "credits":
            return _errors(
                402,
                {
                    "code": "insufficientCredits",
                    "message": "Insufficient credits. Top up at https://my.runware.ai/wallet",
                },
            )
        data: list[dict[str, Any]] = []
        for task in body:
            if not isinstance(task, dict) or task.get("taskType") != "imageInference":
                continue
            problem = self._check(task)
            if problem is not None:
                return _errors(400, problem)
            data += self._results(task)
        return FakeResponse(200, {"data": data})

    def _check(self, task: dict[str, Any]) -> dict[str, Any] | None:
        where = {"taskType": "imageInference", "taskUUID": task.get("taskUUID")}
        prompt = task.get("positivePrompt")
        if not isinstance(prompt, str) or not 2 <= len(prompt) <= 3000:
            return {
                "code": "invalidPositivePrompt",
                "message": "Invalid value for positivePrompt parameter. It "
                "must be a string between 2 and 3000 characters.",
                "parameter": "positivePrompt",
                **where,
            }
        for side in ("width", "height"):
            value = task.get(side)
            if not isinstance(value, int) or value % 64 or not 128 <= value <= 2048:
                return {
                    "code": f"invalid{side.title()}",
                    "message": f"Invalid value for {side} parameter. It must "
                    "be a multiple of 64 between 128 and 2048.",
                    "parameter": side,
                    **where,
                }
        if not task.get("model"):
            return {
                "code": "missingModel",
                "message": "Missing model parameter.",
                "parameter": "model",
                **where,
            }
        if task.get("outputFormat", "JPG") not in FORMATS:
            return {
                "code": "invalidOutputFormat",
                "message": "outputFormat must be one of JPG, PNG, WEBP.",
                "parameter": "outputFormat",
                **where,
            }
        return None

    def _results(self, task: dict[str, Any]) -> list[dict[str, Any]]:
        results = []
        fmt = FORMATS[task.get("outputFormat", "JPG")]
        for index in range(int(task.get("numberResults") or 1)):
            image = image_bytes(task["width"], task["height"], fmt, f"{task['positivePrompt']}#{index}")
            item: dict[str, Any] = {
                "taskType": "imageInference",
                "taskUUID": task["taskUUID"],
                "imageUUID": str(uuid.uuid4()),
                "seed": 1000 + index,
            }
            if task.get("outputType") == "base64Data":
                item["imageBase64Data"] = base64.b64encode(image).decode("ascii")
            else:
                item["imageURL"] = f"https://im.runware.ai/image/ws/2/ii/{item['imageUUID']}.{fmt}"
            if task.get("checkNSFW"):
                item["NSFWContent"] = any(w in task["positivePrompt"].lower() for w in self.nsfw_words)
            if task.get("includeCost"):
                item["cost"] = self.cost_per_image
            results.append(item)
        return results
