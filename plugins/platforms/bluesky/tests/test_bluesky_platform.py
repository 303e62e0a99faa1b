"""Bluesky-specific behaviour against FakeBluesky: PDS routing, facets, cards, images, threads, limits."""

from __future__ import annotations

import hashlib
import struct
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fake_bluesky import ACCOUNT_PASSWORD, APP_PASSWORD, HANDLE, FakeBluesky, did_for
from ocma_bluesky import BlueskyPlatform

from ocma_core import AccountContext, AuthExpired, Capability, MediaItem, PostContent, Rejected
from ocma_core.testing.conformance import run

FAMILY = "\U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466"  # one grapheme, 25 UTF-8 bytes


@pytest.fixture
def fake() -> Iterator[FakeBluesky]:
    with FakeBluesky() as server:
        yield server


@pytest.fixture
def platform(fake: FakeBluesky) -> BlueskyPlatform:
    return BlueskyPlatform(
        env={"OCMA_BLUESKY_API_BASE": fake.base_url, "OCMA_BLUESKY_LINK_CARD_ALLOW_PRIVATE": "1"}
    )


@pytest.fixture
def ctx(platform: BlueskyPlatform) -> AccountContext:
    tokens = run(platform.connect_with_credentials({"handle": HANDLE, "app_password": APP_PASSWORD}))
    probe = AccountContext(
        account_id="a", external_id="", handle="", tokens=tokens, settings=dict(tokens.extra)
    )
    profile = run(platform.get_profile(probe))
    return AccountContext(
        account_id="a",
        external_id=profile.external_id,
        handle=profile.handle,
        tokens=tokens,
        settings={**tokens.extra, **profile.extra},
    )


def _png(path: Path, width: int, height: int) -> Path:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = b"".join(b"\x00" + b"\x10\x20\x30" * width for _ in range(height))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
    )
    return path


def _media(path: Path, alt: str, width: int | None = None, height: int | None = None) -> MediaItem:
    data = path.read_bytes()
    return MediaItem(
        path=path,
        mime_type="image/png",
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        alt_text=alt,
        width=width,
        height=height,
    )


def test_session_uses_pds_from_did_doc(
    fake: FakeBluesky, platform: BlueskyPlatform, ctx: AccountContext
) -> None:
    assert ctx.settings["pds"] == fake.pds.base_url != fake.base_url
    assert ctx.external_id == did_for(HANDLE) and ctx.handle == HANDLE
    assert ctx.tokens.scopes == ("com.atproto.appPass",)
    assert ctx.tokens.expires_at is not None and ctx.tokens.expires_at > datetime.now(UTC) + timedelta(
        minutes=100
    )
    run(platform.publish(ctx, PostContent(text="routed to the PDS")))
    entryway_paths = {r.path for r in fake.requests}
    assert entryway_paths == {"/xrpc/com.atproto.server.createSession"}
    assert fake.pds.requests_to("POST", "/xrpc/com.atproto.repo.createRecord")
    limits = ctx.settings["_rate_limits"]
    assert any(info.bucket == "createRecord [5000;w=3600]" and info.remaining == 4997 for info in limits)


def test_account_password_and_wrong_password_are_refused(platform: BlueskyPlatform) -> None:
    with pytest.raises(Rejected, match="app password"):
        run(platform.connect_with_credentials({"handle": HANDLE, "app_password": ACCOUNT_PASSWORD}))
    with pytest.raises(AuthExpired, match="Invalid identifier or password"):
        run(platform.connect_with_credentials({"handle": HANDLE, "app_password": "wrong-pass-word-xxxx"}))


def test_refresh_rotates_and_keeps_the_pds(
    fake: FakeBluesky, platform: BlueskyPlatform, ctx: AccountContext
) -> None:
    fresh = run(platform.refresh(ctx))
    assert fresh.refresh_token != ctx.tokens.refresh_token and fresh.extra["pds"] == fake.pds.base_url
    with pytest.raises(AuthExpired, match="revoked"):
        run(platform.refresh(ctx))


def test_facets_mentions_tags_links_with_non_ascii(
    fake: FakeBluesky, platform: BlueskyPlatform, ctx: AccountContext
) -> None:
    text = f"Grüße {FAMILY} @alice.bsky.social & @nobody.example.com: https://example.org/ü?x=1. #Café"
    run(platform.publish(ctx, PostContent(text=text, options={"link_card": False, "langs": ["de", "en"]})))
    record = fake.stored()[-1]["value"]
    assert record["langs"] == ["de", "en"] and "embed" not in record
    data = text.encode("utf-8")
    shown = {
        f["features"][0]["$type"].split("#")[1]: (
            data[f["index"]["byteStart"] : f["index"]["byteEnd"]].decode(),
            f["features"][0],
        )
        for f in record["facets"]
    }
    assert shown["mention"] == (
        "@alice.bsky.social",
        {"$type": "app.bsky.richtext.facet#mention", "did": did_for("alice.bsky.social")},
    )
    assert (
        shown["link"][0] == "https://example.org/ü?x=1"
        and shown["link"][1]["uri"] == "https://example.org/ü?x=1"
    )
    assert shown["tag"] == ("#Café", {"$type": "app.bsky.richtext.facet#tag", "tag": "Café"})
    assert len(record["facets"]) == 3  # the unresolvable @nobody.example.com stays plain text
    resolved = fake.pds.requests_to("GET", "/xrpc/com.atproto.identity.resolveHandle")
    assert {r.query["handle"] for r in resolved} == {"alice.bsky.social", "nobody.example.com"}


def test_link_card_from_options_is_used_as_given(
    fake: FakeBluesky, platform: BlueskyPlatform, ctx: AccountContext
) -> None:
    card = {"uri": "https://example.com/post", "title": "A title", "description": "A description"}
    run(platform.publish(ctx, PostContent(text="Read https://example.com/post", options={"link_card": card})))
    embed = fake.stored()[-1]["value"]["embed"]
    assert embed == {"$type": "app.bsky.embed.external", "external": card}


def test_link_card_fetched_from_the_page_with_thumbnail(
    fake: FakeBluesky, platform: BlueskyPlatform, ctx: AccountContext
) -> None:
    url = f"{fake.base_url}/web/article"
    run(platform.publish(ctx, PostContent(text=f"New: {url}")))
    external = fake.stored()[-1]["value"]["embed"]["external"]
    assert (external["uri"], external["title"], external["description"]) == (
        url,
        "OCMA ships Bluesky",
        "Facets, cards & threads.",
    )
    assert external["thumb"]["mimeType"] == "image/png" and external["thumb"]["size"] > 0
    upload = fake.pds.requests_to("POST", "/xrpc/com.atproto.repo.uploadBlob")[-1]
    assert upload.header("content-type") == "image/png"


def test_link_card_is_not_fetched_from_private_addresses(
    fake: FakeBluesky, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OCMA_FETCH_ALLOW_PRIVATE", raising=False)  # the operator's default
    guarded = BlueskyPlatform(env={"OCMA_BLUESKY_API_BASE": fake.base_url})
    tokens = run(guarded.connect_with_credentials({"handle": HANDLE, "app_password": APP_PASSWORD}))
    ctx = AccountContext(
        account_id="a", external_id=did_for(HANDLE), handle=HANDLE, tokens=tokens, settings=dict(tokens.extra)
    )
    run(guarded.publish(ctx, PostContent(text=f"Internal: {fake.base_url}/web/article")))
    assert "embed" not in fake.stored()[-1]["value"]
    assert not fake.requests_to("GET", "/web/article")


def test_images_with_alt_text_and_aspect_ratio(
    fake: FakeBluesky, platform: BlueskyPlatform, ctx: AccountContext, tmp_path: Path
) -> None:
    given = _media(_png(tmp_path / "a.png", 4, 3), "A chart of posts per day", width=1200, height=900)
    sniffed = _media(_png(tmp_path / "b.png", 20, 10), "")
    run(platform.publish(ctx, PostContent(text="Two images", media=[given, sniffed])))
    images = fake.stored()[-1]["value"]["embed"]["images"]
    assert [i["alt"] for i in images] == ["A chart of posts per day", ""]
    assert [i["aspectRatio"] for i in images] == [{"width": 1200, "height": 900}, {"width": 20, "height": 10}]
    assert all(i["image"]["$type"] == "blob" and i["image"]["mimeType"] == "image/png" for i in images)
    five = [_media(_png(tmp_path / f"{n}.png", 2, 2), "x") for n in range(5)]
    assert any(p.code == "too_many_images" for p in platform.validate(PostContent(text="five", media=five)))


def test_thread_reply_refs_root_and_parent(
    fake: FakeBluesky, platform: BlueskyPlatform, ctx: AccountContext
) -> None:
    content = PostContent(
        text="1/3 start", thread=[PostContent(text="2/3 middle"), PostContent(text="3/3 end")]
    )
    since = datetime.now(UTC) - timedelta(seconds=5)
    result = run(platform.publish(ctx, content))
    stored = fake.stored()
    first, second, third = stored[-3:]
    assert "reply" not in first["value"]
    assert second["value"]["reply"] == {
        "root": {"uri": first["uri"], "cid": first["cid"]},
        "parent": {"uri": first["uri"], "cid": first["cid"]},
    }
    assert third["value"]["reply"] == {
        "root": {"uri": first["uri"], "cid": first["cid"]},
        "parent": {"uri": second["uri"], "cid": second["cid"]},
    }
    assert result.external_id == first["uri"] and result.part_ids == [
        r["uri"] for r in (first, second, third)
    ]
    assert result.raw["cids"] == [r["cid"] for r in (first, second, third)]
    rkey = first["uri"].rsplit("/", 1)[1]
    assert result.url == f"https://bsky.app/profile/{HANDLE}/post/{rkey}"
    found = run(platform.find_published(ctx, content, since))
    assert found is not None and found.part_ids == result.part_ids


def test_grapheme_and_byte_limits(fake: FakeBluesky, platform: BlueskyPlatform, ctx: AccountContext) -> None:
    assert platform.limits.text.unit == "graphemes"
    assert platform.validate(PostContent(text="e\u0301" * 300)) == []  # 300 graphemes, 600 code points
    too_many = platform.validate(PostContent(text="e\u0301" * 301))
    assert [p.code for p in too_many] == ["too_long"] and "301 graphemes" in too_many[0].message
    heavy = platform.validate(PostContent(text=FAMILY * 150))  # 150 graphemes but 3,750 bytes
    assert [p.code for p in heavy] == ["too_long"] and "3750 bytes" in heavy[0].message
    with pytest.raises(Rejected):
        run(platform.publish(ctx, PostContent(text=FAMILY * 150)))
    assert not fake.pds.requests_to("POST", "/xrpc/com.atproto.repo.createRecord")
    langs = platform.validate(PostContent(text="hi", options={"langs": ["en", "de", "fr", "es"]}))
    assert [p.code for p in langs] == ["too_many_languages"]


def test_delete_metrics_and_public_url(
    fake: FakeBluesky, platform: BlueskyPlatform, ctx: AccountContext
) -> None:
    result = run(platform.publish(ctx, PostContent(text="measure me")))
    fake.set_counts(result.external_id, likeCount=5, repostCount=2, replyCount=1, quoteCount=1)
    snapshot = run(platform.post_metrics(ctx, result.external_id))
    assert snapshot.values == {
        "likeCount": 5,
        "repostCount": 2,
        "replyCount": 1,
        "quoteCount": 1,
        "bookmarkCount": 0,
    }
    assert "impressions" in snapshot.unavailable
    account = run(platform.account_metrics(ctx))
    assert account.values == {"followersCount": 12, "followsCount": 3, "postsCount": 1}
    run(platform.delete(ctx, result.external_id))
    body = fake.pds.requests_to("POST", "/xrpc/com.atproto.repo.deleteRecord")[-1].json()
    assert body == {
        "repo": ctx.external_id,
        "collection": "app.bsky.feed.post",
        "rkey": result.external_id.rsplit("/", 1)[1],
    }
    assert "measure me" not in fake.published_texts()
    with pytest.raises(Rejected):
        run(platform.post_metrics(ctx, result.external_id))


def test_no_webhooks(platform: BlueskyPlatform) -> None:
    assert Capability.WEBHOOKS not in platform.capabilities
    assert platform.verify_webhook({}, b"{}") is False and platform.parse_webhook(b"{}") == []


def test_link_card_fetching_can_be_switched_off(fake: FakeBluesky) -> None:
    quiet = BlueskyPlatform(
        env={
            "OCMA_BLUESKY_API_BASE": fake.base_url,
            "OCMA_BLUESKY_LINK_CARDS": "off",
            "OCMA_BLUESKY_LINK_CARD_ALLOW_PRIVATE": "1",
        }
    )
    tokens = run(quiet.connect_with_credentials({"handle": HANDLE, "app_password": APP_PASSWORD}))
    ctx = AccountContext(
        account_id="a", external_id=did_for(HANDLE), handle=HANDLE, tokens=tokens, settings=dict(tokens.extra)
    )
    run(quiet.publish(ctx, PostContent(text=f"Quiet: {fake.base_url}/web/article")))
    assert "embed" not in fake.stored()[-1]["value"] and not fake.requests_to("GET", "/web/article")
    card = {"uri": "https://example.com", "title": "Given", "description": "still used"}
    run(quiet.publish(ctx, PostContent(text="https://example.com", options={"link_card": card})))
    assert fake.stored()[-1]["value"]["embed"]["external"] == card


def test_past_posts_are_listed_from_the_repo_page_by_page(
    fake: FakeBluesky, platform: BlueskyPlatform, ctx: AccountContext
) -> None:
    uris = [run(platform.publish(ctx, PostContent(text=f"old {i}"))).external_id for i in range(105)]
    run(platform.publish(ctx, PostContent(text="a thread", thread=[PostContent(text="its reply")])))
    seen, cursor, pages = [], None, 0
    while True:
        page = run(platform.list_past_posts(ctx, None, cursor))
        seen += page.posts
        pages += 1
        if page.cursor is None:
            break
        cursor = page.cursor
    ids = [p.external_id for p in seen]
    assert pages >= 2 and set(uris) < set(ids) and len(ids) == len(set(ids)) == 106
    assert "its reply" not in {p.text for p in seen} and all(p.url for p in seen)
    later = run(platform.list_past_posts(ctx, datetime.now(UTC) + timedelta(hours=1)))
    assert later.posts == [] and later.cursor is None


def test_public_account_metrics_of_another_account(
    fake: FakeBluesky, platform: BlueskyPlatform, ctx: AccountContext
) -> None:
    fake.add_account("rival.bsky.social", display_name="Rival", followers=900, follows=12)
    snap = run(platform.public_account_metrics(ctx, "rival.bsky.social"))
    assert snap.values == {"followersCount": 900.0, "followsCount": 12.0, "postsCount": 0.0}
    with pytest.raises(Rejected):
        run(platform.public_account_metrics(ctx, "nobody.example.com"))
