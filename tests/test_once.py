"""claim_once: the first caller wins across threads, OCMA contexts (processes) and restarts; claims expire."""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlmodel import select
from tests_support import REDIS_URL, need_service

from ocma_core.config import Settings
from ocma_core.context import Ocma
from ocma_core.db.models import OnceClaim
from ocma_core.errors import ValidationFailed
from ocma_core.services.once import claim_once


@pytest.fixture(params=["database", "redis"])
def store(request: pytest.FixtureRequest, settings: Settings) -> Settings:
    """The test's settings, with Redis as the claim store for the redis variant."""
    if request.param == "redis":
        need_service("redis", REDIS_URL)
        return settings.model_copy(update={"redis_url": REDIS_URL})
    return settings


def rows(ocma: Ocma) -> list[OnceClaim]:
    with ocma.session() as session:
        return list(session.exec(select(OnceClaim)).all())


def test_first_claim_wins_and_other_keys_are_free(store: Settings, plugin_host: object) -> None:
    ocma = Ocma(store)
    key = f"test:{uuid.uuid4().hex}"
    assert claim_once(ocma, key, 60) is True
    assert claim_once(ocma, key, 60) is False
    assert claim_once(ocma, key + ":other", 60) is True
    # A second context on the same database or Redis (another process, or a restart) sees the claim.
    assert claim_once(Ocma(store), key, 60) is False
    stored = sorted(r.key for r in rows(ocma))
    assert stored == (
        [] if store.redis_url else [key, key + ":other"]
    )  # Redis claims never touch the database


def test_a_claim_can_be_taken_again_after_it_expires(store: Settings, plugin_host: object) -> None:
    ocma = Ocma(store)
    key = f"test:{uuid.uuid4().hex}"
    assert claim_once(ocma, key, 0.2) is True
    assert claim_once(ocma, key, 0.2) is False
    time.sleep(0.3)
    assert claim_once(ocma, key, 60) is True
    assert claim_once(ocma, key, 60) is False


def test_concurrent_claims_have_one_winner(store: Settings, plugin_host: object) -> None:
    contexts = [Ocma(store) for _ in range(4)]
    key = f"test:{uuid.uuid4().hex}"
    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(lambda i: claim_once(contexts[i % 4], key, 60), range(16)))
    assert results.count(True) == 1


def test_expired_rows_are_purged(ocma: Ocma) -> None:
    for n in range(3):
        assert claim_once(ocma, f"old:{n}", 0.05)
    time.sleep(0.1)
    assert claim_once(ocma, "new", 60)
    assert [r.key for r in rows(ocma)] == ["new"]


@pytest.mark.parametrize("key, ttl", [("", 1.0), ("k" * 256, 1.0), ("ok", 0.0)])
def test_bad_claims_are_refused(ocma: Ocma, key: str, ttl: float) -> None:
    with pytest.raises(ValidationFailed):
        claim_once(ocma, key, ttl)
