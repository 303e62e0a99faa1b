"""The conformance kit's thread checks: a reply lost mid-thread ends as the whole thread, each part once.

`PlatformConformance` includes these; they run for platforms with Capability.THREADS. The fake must offer
`fail_next("timeout_after_store", skip=N)` (let N creates through, then store the next post and answer too
late) and `parent_of(id)`. A platform that stores a whole thread in one call (`threads_in_one_call = True`)
has no reply to lose: only the lost answer to that one call is checked.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ocma_core.engine.threads import republish_is_safe
from ocma_core.errors import PlatformError, Rejected, Unconfirmed
from ocma_core.platforms import AccountContext, Capability, FoundPost, Platform, PostContent, PublishResult

THREAD = 3


class ThreadConformance:
    """Thread checks, mixed into PlatformConformance (which provides the fixtures)."""

    #: True when the platform stores a thread whole in one call (no per-part create to lose an answer of).
    threads_in_one_call = False

    def _per_part(self) -> None:
        if self.threads_in_one_call:
            pytest.skip(
                "the platform stores a thread in one call: there is no reply whose answer could be lost"
            )

    def _thread(self, kit_platform: Platform) -> PostContent:
        if Capability.THREADS not in kit_platform.capabilities:
            pytest.skip("platform does not publish threads")
        if kit_platform.limits.max_thread_length < THREAD:
            pytest.skip(f"threads are shorter than {THREAD} parts")
        tag = secrets.token_hex(4)
        texts = [f"OCMA conformance thread {tag} part {n}/{THREAD}" for n in range(1, THREAD + 1)]
        return PostContent(
            text=texts[0], thread=[PostContent(text=t) for t in texts[1:]], idempotency_key=tag
        )

    def _check_whole(self, fake: Any, content: PostContent, result: PublishResult) -> None:
        """The result lists every part; the fake holds each part once, each replying to the one before."""
        texts = [part.text for part in content.all_parts()]
        held = fake.published_texts()
        assert [held.count(text) for text in texts] == [1] * len(texts), held
        assert len(result.part_ids) == len(texts) and len(set(result.part_ids)) == len(texts), result
        assert result.external_id == result.part_ids[0]
        parents = [fake.parent_of(part_id) for part_id in result.part_ids]
        assert parents == [None, *result.part_ids[:-1]]

    async def _lookup(
        self, platform: Platform, ctx: AccountContext, content: PostContent, since: datetime, fake: Any
    ) -> FoundPost | None:
        """find_published, checked to be a read that answers with a FoundPost."""
        before = sorted(fake.published_texts())
        found = await platform.find_published(ctx, content, since)
        assert sorted(fake.published_texts()) == before, "find_published posted something: it must only read"
        assert found is None or isinstance(found, FoundPost), f"find_published returned {found!r}"
        return found

    async def _as_the_engine(
        self, platform: Platform, ctx: AccountContext, content: PostContent, since: datetime, fake: Any
    ) -> PublishResult:
        """Publish as the engine does: after an unknown outcome, look up and continue (or republish by key)."""
        try:
            return await platform.publish(ctx, content)
        except PlatformError as exc:
            if isinstance(exc, Rejected) or not (isinstance(exc, Unconfirmed) or exc.parts_out):
                raise
        if republish_is_safe(platform, since, datetime.now(UTC)):
            return await platform.publish(ctx, content)
        assert Capability.FIND_PUBLISHED in platform.capabilities, "an unknown outcome needs find_published"
        found = await self._lookup(platform, ctx, content, since, fake)
        if found is None:
            return await platform.publish(ctx, content)
        if found.complete(content):
            return found.as_result()
        return await platform.continue_thread(ctx, content, found)

    @pytest.mark.parametrize("lost", range(THREAD))
    def test_thread_with_a_lost_reply_is_completed_once(
        self, kit_platform: Platform, ctx: AccountContext, fake: Any, lost: int
    ) -> None:
        """The answer to part `lost`+1 is lost after it was stored: the thread ends whole, no part twice."""
        from ocma_core.testing.conformance import run

        content = self._thread(kit_platform)
        if lost:
            self._per_part()
        since = datetime.now(UTC) - timedelta(seconds=5)
        fake.fail_next("timeout_after_store", **({"skip": lost} if lost else {}))
        result = run(self._as_the_engine(kit_platform, ctx, content, since, fake))
        assert not result.pending
        self._check_whole(fake, content, result)

    def test_lookup_says_which_thread_parts_exist(
        self, kit_platform: Platform, ctx: AccountContext, fake: Any
    ) -> None:
        """find_published lists the parts stored so far (and posts nothing); continue_thread adds the rest."""
        from ocma_core.testing.conformance import run

        content = self._thread(kit_platform)
        self._per_part()
        if Capability.FIND_PUBLISHED not in kit_platform.capabilities:
            pytest.skip("platform cannot look up a post")
        since = datetime.now(UTC) - timedelta(seconds=5)
        fake.fail_next("timeout_after_store", skip=1)
        with pytest.raises(Unconfirmed) as info:
            run(kit_platform.publish(ctx, content))
        assert len(info.value.parts_out) == 1  # part 1 was answered, part 2's answer was lost
        found = run(self._lookup(kit_platform, ctx, content, since, fake))
        assert found is not None and found.part_ids[0] == info.value.parts_out[0]
        assert len(found.part_ids) == 2 and not found.complete(content)
        assert (
            run(self._lookup(kit_platform, ctx, PostContent(text=content.thread[1].text), since, fake))
            is None
        )
        result = run(kit_platform.continue_thread(ctx, content, found))
        assert result.part_ids[:2] == found.part_ids
        self._check_whole(fake, content, result)

    def test_failure_mid_thread_names_the_parts_out(
        self, kit_platform: Platform, ctx: AccountContext, fake: Any
    ) -> None:
        """A failure after part 1 is out carries its id, so the engine looks it up instead of posting it again."""
        from ocma_core.testing.conformance import run

        content = self._thread(kit_platform)
        self._per_part()
        fake.fail_next("server_error", skip=1)
        with pytest.raises(PlatformError) as info:
            run(kit_platform.publish(ctx, content))
        assert not isinstance(info.value, Rejected)
        assert len(info.value.parts_out) == 1
        assert fake.published_texts().count(content.text) == 1
        assert fake.parent_of(info.value.parts_out[0]) is None
