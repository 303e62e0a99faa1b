"""The embedded worker: runs inside `ocma serve` so a small team needs no Redis and no extra process."""

from __future__ import annotations

import asyncio

from ocma_core.context import Ocma
from ocma_core.engine.worker import Worker


class EmbeddedWorker:
    """A Worker running as a task of the web server's event loop."""

    def __init__(self, ocma: Ocma, concurrency: int | None = None) -> None:
        self.worker = Worker(ocma, concurrency=concurrency, kind="embedded")
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Start the loop."""
        self._task = asyncio.create_task(self.worker.run())

    async def stop(self) -> None:
        """Stop after in-flight publishes finish."""
        self.worker.stop()
        if self._task is not None:
            await self._task
