"""The request id (and the target being worked on) as context variables, stamped on every log line.

An API request gets an id (the caller's X-Request-ID when it is a sane token, else a new one); targets
created while serving it record it (observe.origin), and the worker that publishes them logs under it.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

REQUEST_ID: ContextVar[str] = ContextVar("ocma_request_id", default="")
TARGET_ID: ContextVar[str] = ContextVar("ocma_target_id", default="")
HEADER = "x-request-id"
SCOPE_KEY = "ocma.request_id"  # where the API keeps the id in the ASGI scope
_GOOD_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def new_request_id() -> str:
    """A new random request id."""
    return uuid.uuid4().hex


def sane(value: str | None) -> str | None:
    """`value` when it is usable as a request id (short, no spaces or control characters), else None."""
    return value if value and _GOOD_ID.match(value) else None


def current_request_id() -> str:
    """The request id of the work in progress ('' outside any)."""
    return REQUEST_ID.get()


@contextmanager
def bound(request_id: str | None = None, target_id: str | None = None) -> Iterator[None]:
    """Run the block with the given ids in context (None keeps the current one)."""
    tokens = []
    if request_id is not None:
        tokens.append((REQUEST_ID, REQUEST_ID.set(request_id)))
    if target_id is not None:
        tokens.append((TARGET_ID, TARGET_ID.set(target_id)))
    try:
        yield
    finally:
        for var, token in reversed(tokens):
            var.reset(token)


class ContextFilter(logging.Filter):
    """Adds `request_id` and `target_id` to every record (empty outside a request or a publish)."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Stamp the record."""
        if not getattr(record, "request_id", ""):
            record.request_id = REQUEST_ID.get()
        if not getattr(record, "target_id", ""):
            record.target_id = TARGET_ID.get()
        return True
