"""The conformance kit's `FakeControl` for the sandbox: it acts on the feed file itself (no server involved)."""

from __future__ import annotations

from pathlib import Path

from ocma_sandbox.feed import SandboxFeed


class SandboxControl:
    """Injects faults and token expiry into a sandbox feed and reads what it holds."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.feed = SandboxFeed(folder / "feed.db")
        self.base_url = folder.as_uri()  # the kit only hands it to the `platform` fixture

    def authorize(self, authorize_url: str, *, approve: bool = True) -> tuple[str, str]:
        """The sandbox has no OAuth (the kit skips its OAuth check for it)."""
        raise NotImplementedError("the sandbox connects without OAuth")

    def fail_next(self, kind: str, *, retry_after_s: float = 30.0) -> None:
        """Fail the next publish as `kind`."""
        self.feed.fail_next(kind, retry_after_s=retry_after_s)

    def parent_of(self, external_id: str) -> str | None:
        """The id of the post this one replies to."""
        return self.feed.parent_of(external_id)

    def expire_tokens(self) -> None:
        """Invalidate every access token (refresh tokens stay valid)."""
        self.feed.expire_access_tokens()

    def published_texts(self) -> list[str]:
        """Texts of the posts the feed holds now."""
        return self.feed.texts()
