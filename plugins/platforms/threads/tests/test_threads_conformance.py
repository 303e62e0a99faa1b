"""The Threads plugin passes the OCMA conformance kit (thread checks included) against FakeThreads."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fake_threads import FakeThreads
from ocma_threads import ThreadsPlatform
from threads_testkit import threads_env

from ocma_core.testing.fake_graph import GraphConformance


class TestThreadsConformance(GraphConformance):
    """Every kit check over real HTTP, including a reply lost mid-thread (continued from the last part that
    exists, never re-posted). Refresh and rate limits are checked as Meta's contract has them (GraphConformance)."""

    login_again = "Log in with Threads again"

    @pytest.fixture
    def fake(self) -> Iterator[FakeThreads]:
        with FakeThreads() as server:
            yield server

    @pytest.fixture
    def platform(self, fake: FakeThreads) -> ThreadsPlatform:
        return ThreadsPlatform(env=threads_env(fake))
