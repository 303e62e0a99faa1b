"""Asking `video/query` about up to 20 videos at once while OCMA collects metrics one post at a time.

The core asks for one post's metrics per call (one account at a time, post after post). TikTok answers up
to 20 ids a call, so when OCMA asks about a video it also asks about the account's other videos it has asked
about before and keeps their answers for `FRESH_S` seconds: the rest of the round is served from those
answers, each with the time TikTok gave it. A round over N videos then costs about N / 20 calls.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

FRESH_S = 120.0
MAX_KNOWN = 500  # ids remembered per account (the newest)
BATCH = 20


@dataclass
class Answer:
    """One video as TikTok described it, and when."""

    video: dict[str, Any] | None  # None: TikTok did not list it
    fetched_at: datetime
    at: float = field(default_factory=time.monotonic)


@dataclass
class VideoBatch:
    """Per account: the video ids asked about, and the answers still fresh."""

    known: dict[str, dict[str, None]] = field(default_factory=dict)  # account -> ids, oldest first
    fresh: dict[tuple[str, str], Answer] = field(default_factory=dict)

    def cached(self, account: str, video_id: str) -> Answer | None:
        """A fresh answer about this video, if there is one."""
        self._prune()
        return self.fresh.get((account, video_id))

    def batch_for(self, account: str, video_id: str) -> list[str]:
        """`video_id` and up to 19 other ids of the account without a fresh answer, newest first."""
        ids = self.known.setdefault(account, {})
        ids.pop(video_id, None)
        ids[video_id] = None
        while len(ids) > MAX_KNOWN:
            ids.pop(next(iter(ids)))
        others = [i for i in reversed(ids) if i != video_id and (account, i) not in self.fresh]
        return [video_id, *others[: BATCH - 1]]

    def store(self, account: str, asked: list[str], found: dict[str, dict[str, Any]], when: datetime) -> None:
        """Keep what TikTok said about each id asked (absent ids too: they are not listed)."""
        for video_id in asked:
            self.fresh[(account, video_id)] = Answer(found.get(video_id), when)

    def _prune(self) -> None:
        now = time.monotonic()
        for key in [k for k, a in self.fresh.items() if now - a.at > FRESH_S]:
            del self.fresh[key]
