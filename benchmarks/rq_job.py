"""The job the raw-rq baseline runs: the same single POST the engine makes for a target."""

from __future__ import annotations

import httpx


def post_once(base_url: str, token: str, text: str) -> str:
    """POST /v1/posts to the fake platform and return the new id."""
    response = httpx.post(
        f"{base_url}/v1/posts", json={"text": text}, headers={"Authorization": f"Bearer {token}"}, timeout=30
    )
    response.raise_for_status()
    return str(response.json()["id"])
