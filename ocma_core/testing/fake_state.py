"""What FakeSocial remembers, and its random-failure settings (`ocma_core.testing.fake_platform`)."""

from __future__ import annotations

import collections
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Chaos:
    """Probabilities of failures on POST /v1/posts (seeded, so a run is repeatable)."""

    p_5xx: float = 0.0
    p_timeout_after_store: float = 0.0
    p_429: float = 0.0
    p_reply_lost: float = 0.0  # a thread reply is stored, then the answer never comes (a timeout)
    timeout_s: float = 5.0
    seed: int = 1


@dataclass
class FakeSocialState:
    """Everything the fake remembers."""

    codes: dict[str, dict[str, str]] = field(default_factory=dict)
    access: dict[str, str] = field(default_factory=dict)  # access token -> user id
    refresh: dict[str, str] = field(default_factory=dict)  # live refresh token -> user id
    posts: dict[str, dict[str, Any]] = field(default_factory=dict)
    undeletable: dict[str, str] = field(default_factory=dict)  # post id -> why DELETE refuses it
    processing: dict[str, dict[str, Any]] = field(default_factory=dict)  # post id -> {polls_left, fail}
    publish_calls: int = 0
    delete_calls: int = 0
    metric_calls: int = 0
    http_429: int = 0
    followers: int = 42
    public_accounts: dict[str, dict[str, Any]] = field(default_factory=dict)  # username -> public profile
    window: dict[str, tuple[float, int]] = field(default_factory=dict)  # token -> (start, used)


def take_due(queue: collections.deque[list[Any]]) -> list[Any] | None:
    """The next injected behaviour ([..., skip]) once its skip count is used up (call with the lock held)."""
    if not queue:
        return None
    if queue[0][-1] > 0:
        queue[0][-1] -= 1
        return None
    return queue.popleft()
