"""Versions of stored things as HTTP entity tags, and the If-Match check for optimistic concurrency.

A change sent with the ETag of what was read (`If-Match`) applies only while that is still the version:
the workspace (`PATCH /v1/workspaces/current`) and the agent's automation rules use these. Public through
`ocma_core`'s top-level exports (`from ocma_core import json_etag, if_match_matches`).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

__all__ = ["IF_MATCH_PATTERN", "if_match_matches", "json_etag"]

# What an If-Match header may hold: `*`, or one or more quoted tags (each possibly weak, W/), comma-separated.
IF_MATCH_PATTERN = r'^(\*|(W/)?"[^"]*"(\s*,\s*(W/)?"[^"]*")*)$'


def json_etag(value: Any) -> str:
    """A JSON-able value's HTTP entity tag: its canonical JSON's sha256, 32 hex digits in quotes."""
    encoded = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return '"' + hashlib.sha256(encoded.encode("utf-8")).hexdigest()[:32] + '"'


def if_match_matches(current_etag: str, if_match: str) -> bool:
    """Whether an If-Match value names `current_etag`: `*` or one of its comma-separated tags (W/ or not)."""
    tags = [t.strip().removeprefix("W/") for t in if_match.split(",")]
    return "*" in tags or current_etag in tags
