"""Make the fake importable by module name and provide the shared Threads fixtures."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from fake_threads import FakeThreads
from ocma_threads import ThreadsPlatform
from threads_testkit import threads_env

from ocma_core.testing.fake_graph import MediaHost


@pytest.fixture
def fake_threads() -> Iterator[FakeThreads]:
    """A started FakeThreads."""
    with FakeThreads() as server:
        yield server


@pytest.fixture
def threads_media_host() -> Iterator[MediaHost]:
    """A started host for the media Meta downloads."""
    with MediaHost() as server:
        yield server


@pytest.fixture
def threads(fake_threads: FakeThreads) -> ThreadsPlatform:
    """The plugin pointed at the fake."""
    return ThreadsPlatform(env=threads_env(fake_threads, OCMA_THREADS_WEBHOOK_VERIFY_TOKEN="verify-th"))
