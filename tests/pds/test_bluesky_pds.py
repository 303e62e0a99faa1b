"""OCMA against the real Bluesky PDS (@atproto/pds, what bsky.social runs), offline on loopback.

Connect with an app password (no AppView exists here: new accounts are unknown to it), publish text with
facets, images and threads through the engine, read each record back from the PDS, continue a thread after
the parts that exist, and delete. Fault injection (lost answers, 5xx) stays with the Python fake.
"""

from __future__ import annotations

import asyncio
import importlib
import itertools
import struct
import zlib
from collections.abc import Iterator
from typing import Any

import pytest
from pds_server import Account, LocalPds, missing, skip_or_fail
from tests_support import run_worker

from ocma_core.context import Ocma
from ocma_core.db.models import Target, TargetStatus
from ocma_core.errors import ValidationFailed
from ocma_core.plugins import PluginHost
from ocma_core.services import accounts, posts
from ocma_core.services.deletion import delete_published_sync
from ocma_core.services.media import store_media
from ocma_core.services.post_input import PostInput

pytestmark = pytest.mark.pds
SQLITE = pytest.mark.parametrize(
    "backend", ["sqlite"], indirect=True
)  # the PDS is the subject, not the database
TERMINAL = (TargetStatus.PUBLISHED, TargetStatus.FAILED, TargetStatus.HELD)


@pytest.fixture(scope="module")
def pds() -> Iterator[LocalPds]:
    """One PDS for the module (each test makes its own accounts)."""
    reason = missing()
    if reason:
        skip_or_fail(reason)
    server = LocalPds().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def bluesky(pds: LocalPds, plugin_host: PluginHost, monkeypatch: pytest.MonkeyPatch) -> LocalPds:
    """The Bluesky plugin registered, logging in at the PDS, link cards off (they would fetch pages)."""
    from ocma_core.registry import clear_caches

    plugin_host.register(importlib.import_module("ocma_bluesky"), name="ocma_bluesky")
    monkeypatch.setenv("OCMA_BLUESKY_API_BASE", pds.url)
    monkeypatch.setenv("OCMA_BLUESKY_LINK_CARDS", "off")
    clear_caches()
    return pds


def _connect(ocma: Ocma, workspace_id: str, account: Account, password: str | None = None) -> str:
    fields = {"handle": account.handle, "app_password": password or account.app_password}
    return asyncio.run(accounts.connect_with_credentials(ocma, workspace_id, "bluesky", fields)).id


def _publish(ocma: Ocma, workspace_id: str, account_id: str, text: str, **kw: Any) -> Target:
    data = PostInput(body=text, account_ids=[account_id], action="publish_now", **kw)
    post_id = posts.create_post(ocma, workspace_id, data).id
    run_worker(ocma, lambda: posts.targets_of(ocma, post_id)[0].status in TERMINAL, timeout=30)
    target = posts.targets_of(ocma, post_id)[0]
    assert target.status is TargetStatus.PUBLISHED, target.last_error
    return target


def _png(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = b"".join(b"\x00" + b"\x20\x80\xc0" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


@SQLITE
def test_connects_with_an_app_password_though_no_appview_knows_the_account(
    ocma: Ocma, workspace_id: str, bluesky: LocalPds
) -> None:
    alice = bluesky.create_account("alice", display_name="Alice Example")
    account_id = _connect(ocma, workspace_id, alice)

    account = accounts.get_account(ocma, workspace_id, account_id)
    assert (account.external_id, account.handle, account.display_name) == (
        alice.did,
        alice.handle,
        "Alice Example",
    )
    assert account.settings["pds"] == bluesky.url
    with pytest.raises(ValidationFailed, match="account password"):  # the main password is refused
        _connect(ocma, workspace_id, alice, password=alice.password)
    with pytest.raises(ValidationFailed, match="refused the credentials"):
        _connect(ocma, workspace_id, alice, password="wrong-password-entirely")


@SQLITE
def test_text_with_facets_is_stored_with_utf8_byte_offsets(
    ocma: Ocma, workspace_id: str, bluesky: LocalPds
) -> None:
    alice, bob = bluesky.create_account("alice"), bluesky.create_account("bob")
    account_id = _connect(ocma, workspace_id, alice)
    text = f"Grüße an @{bob.handle} — siehe https://example.com/a?b=1 #OCMA ✓"

    target = _publish(ocma, workspace_id, account_id, text)

    record = bluesky.get_record(target.external_id or "")["value"]
    assert record["text"] == text
    data = text.encode()
    found = {
        facet["features"][0]["$type"]: (
            data[facet["index"]["byteStart"] : facet["index"]["byteEnd"]].decode(),
            facet["features"][0],
        )
        for facet in record["facets"]
    }
    assert found["app.bsky.richtext.facet#mention"] == (
        f"@{bob.handle}",
        {"$type": "app.bsky.richtext.facet#mention", "did": bob.did},
    )
    assert found["app.bsky.richtext.facet#link"][0] == "https://example.com/a?b=1"
    assert found["app.bsky.richtext.facet#link"][1]["uri"] == "https://example.com/a?b=1"
    assert found["app.bsky.richtext.facet#tag"] == (
        "#OCMA",
        {"$type": "app.bsky.richtext.facet#tag", "tag": "OCMA"},
    )


@SQLITE
def test_images_are_uploaded_as_blobs_with_alt_text_and_aspect_ratio(
    ocma: Ocma, workspace_id: str, bluesky: LocalPds
) -> None:
    alice = bluesky.create_account("alice")
    account_id = _connect(ocma, workspace_id, alice)
    image = _png(4, 3)
    media = store_media(ocma, workspace_id, image, filename="dots.png", alt_text="Three rows of dots")

    target = _publish(ocma, workspace_id, account_id, "A picture", media_ids=[media.id])

    embed = bluesky.get_record(target.external_id or "")["value"]["embed"]
    assert embed["$type"] == "app.bsky.embed.images"
    [entry] = embed["images"]
    assert entry["alt"] == "Three rows of dots" and entry["aspectRatio"] == {"width": 4, "height": 3}
    assert entry["image"]["mimeType"] == "image/png" and entry["image"]["size"] == len(image)
    assert bluesky.blob(alice.did, entry["image"]["ref"]["$link"]) == image  # the very bytes


@SQLITE
def test_a_thread_is_a_reply_chain_and_deleting_removes_every_part(
    ocma: Ocma, workspace_id: str, bluesky: LocalPds
) -> None:
    alice = bluesky.create_account("alice")
    account_id = _connect(ocma, workspace_id, alice)
    parts = ["1/3 A thread on a real PDS", "2/3 replies to part one", "3/3 and the end"]

    target = _publish(ocma, workspace_id, account_id, parts[0], thread=parts[1:])

    assert len(target.part_ids) == 3
    records = [bluesky.get_record(uri) for uri in target.part_ids]
    assert [r["value"]["text"] for r in records] == parts
    root = {"uri": records[0]["uri"], "cid": records[0]["cid"]}
    assert "reply" not in records[0]["value"]
    for before, record in itertools.pairwise(records):
        assert record["value"]["reply"] == {
            "root": root,
            "parent": {"uri": before["uri"], "cid": before["cid"]},
        }
    assert [p["value"]["text"] for p in bluesky.posts(alice.did)] == parts  # nothing else, nothing twice

    [result] = delete_published_sync(ocma, workspace_id, target.post_id)

    assert result.status == "deleted" and result.parts_deleted == 3
    assert not any(bluesky.record_exists(uri) for uri in target.part_ids)


def test_a_thread_goes_on_after_the_parts_that_exist(bluesky: LocalPds) -> None:
    """What the engine does after a lost answer: look up (listRecords), then post only the missing part."""
    from datetime import UTC, datetime, timedelta

    from ocma_bluesky import BlueskyPlatform

    from ocma_core import AccountContext, PostContent

    alice = bluesky.create_account("alice")
    platform = BlueskyPlatform(env={"OCMA_BLUESKY_API_BASE": bluesky.url, "OCMA_BLUESKY_LINK_CARDS": "off"})

    async def scenario() -> tuple[Any, Any]:
        tokens = await platform.connect_with_credentials(
            {"handle": alice.handle, "app_password": alice.app_password}
        )
        ctx = AccountContext("a", alice.did, alice.handle, tokens, settings=dict(tokens.extra))
        since = datetime.now(UTC) - timedelta(minutes=1)
        texts = ["1/3 Out before the loss", "2/3 stored, answer lost", "3/3 posted after the look-up"]
        whole = PostContent(text=texts[0], thread=[PostContent(text=t) for t in texts[1:]])
        await platform.publish(ctx, PostContent(text=texts[0], thread=[PostContent(text=texts[1])]))
        found = await platform.find_published(ctx, whole, since)
        assert found is not None and len(found.part_ids) == 2
        return found, await platform.continue_thread(ctx, whole, found)

    found, result = asyncio.run(scenario())

    assert result.part_ids[:2] == found.part_ids and len(result.part_ids) == 3
    stored = bluesky.posts(alice.did)
    assert [p["value"]["text"] for p in stored] == [
        "1/3 Out before the loss",
        "2/3 stored, answer lost",
        "3/3 posted after the look-up",
    ]
    reply = stored[2]["value"]["reply"]
    assert reply["root"] == {"uri": stored[0]["uri"], "cid": stored[0]["cid"]}
    assert reply["parent"] == {"uri": stored[1]["uri"], "cid": stored[1]["cid"]}
