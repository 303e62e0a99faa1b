"""Posting as a member and as an organisation page, media uploads, finding and deleting posts."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fake_linkedin import ORG_ID, FakeLinkedIn
from linkedin_testkit import connect, linkedin_env, run
from ocma_linkedin import LinkedInPlatform

from ocma_core import MediaItem, PostContent, Rejected, Transient

ORG = f"urn:li:organization:{ORG_ID}"
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000") + b"\x00" * 32


def media_file(tmp_path: Path, name: str, data: bytes, mime: str, alt: str = "") -> MediaItem:
    path = tmp_path / name
    path.write_bytes(data)
    return MediaItem(
        path=path, mime_type=mime, size=len(data), sha256=hashlib.sha256(data).hexdigest(), alt_text=alt
    )


def sent_post(fake: FakeLinkedIn) -> dict[str, object]:
    request = fake.requests_to("POST", "/rest/posts")[-1]
    assert request.header("linkedin-version") == "202607"
    assert request.header("x-restli-protocol-version") == "2.0.0"
    body: dict[str, object] = request.json()
    return body


def test_member_post_body_and_id(linkedin: LinkedInPlatform, fake_linkedin: FakeLinkedIn) -> None:
    ctx = connect(linkedin, fake_linkedin)
    result = run(linkedin.publish(ctx, PostContent(text="Hello LinkedIn")))
    assert result.external_id.startswith("urn:li:share:") and result.external_id in fake_linkedin.state.posts
    assert result.url == f"https://www.linkedin.com/feed/update/{result.external_id}/"
    assert sent_post(fake_linkedin) == {
        "author": "urn:li:person:782bbtaQ",
        "commentary": "Hello LinkedIn",
        "visibility": "PUBLIC",
        "distribution": {
            "feedDistribution": "MAIN_FEED",
            "targetEntities": [],
            "thirdPartyDistributionChannels": [],
        },
        "lifecycleState": "PUBLISHED",
        "isReshareDisabledByAuthor": False,
    }


def test_list_organizations(linkedin: LinkedInPlatform, fake_linkedin: FakeLinkedIn) -> None:
    fake_linkedin.add_org("5515715", "Pending Co", state="REQUESTED")
    fake_linkedin.add_org("1337", "Analyst Co", role="ANALYST")
    ctx = connect(linkedin, fake_linkedin)
    pages = [{"urn": ORG, "role": "ADMINISTRATOR", "name": "Devtestco"}]
    assert run(linkedin.list_organizations(ctx)) == pages
    assert ctx.settings["organizations"] == pages  # offered at connect time through Profile.extra
    query = fake_linkedin.requests_to("GET", "/rest/organizationAcls")[-1].query
    assert query == {"q": "roleAssignee", "role": "ADMINISTRATOR", "state": "APPROVED", "count": "100"}


def test_post_as_organisation_from_settings(linkedin: LinkedInPlatform, fake_linkedin: FakeLinkedIn) -> None:
    ctx = connect(linkedin, fake_linkedin, author_urn=ORG)
    result = run(linkedin.publish(ctx, PostContent(text="Company news")))
    assert fake_linkedin.state.posts[result.external_id]["author"] == ORG
    member = run(
        linkedin.publish(ctx, PostContent(text="Personal note", options={"author": "urn:li:person:782bbtaQ"}))
    )
    assert fake_linkedin.state.posts[member.external_id]["author"] == "urn:li:person:782bbtaQ"


def test_org_posting_needs_admin_and_scope(fake_linkedin: FakeLinkedIn) -> None:
    member_only = LinkedInPlatform(env=linkedin_env(fake_linkedin, "member"))
    ctx = connect(member_only, fake_linkedin, author_urn=ORG)
    assert "organizations" not in ctx.settings
    with pytest.raises(Rejected, match="ACCESS_DENIED") as info:
        run(member_only.publish(ctx, PostContent(text="Not allowed")))
    assert info.value.status == 403


def test_bad_author_is_caught(linkedin: LinkedInPlatform, fake_linkedin: FakeLinkedIn) -> None:
    content = PostContent(text="x", options={"author": "organization:12", "visibility": "FRIENDS"})
    codes = {p.code for p in linkedin.validate(content)}
    assert {"author", "visibility"} <= codes
    ctx = connect(linkedin, fake_linkedin)
    with pytest.raises(Rejected, match="not a LinkedIn author URN"):
        run(linkedin.publish(ctx, content))


def test_validation_limits(linkedin: LinkedInPlatform) -> None:
    assert not linkedin.validate(PostContent(text="a" * 3000))
    assert [p.code for p in linkedin.validate(PostContent(text="a" * 3001))] == ["too_long"]
    thread = PostContent(text="one", thread=[PostContent(text="two")])
    assert [p.code for p in linkedin.validate(thread)] == ["threads_unsupported"]


def test_single_image_upload_flow(
    linkedin: LinkedInPlatform, fake_linkedin: FakeLinkedIn, tmp_path: Path
) -> None:
    ctx = connect(linkedin, fake_linkedin, author_urn=ORG)
    image = media_file(tmp_path, "a.png", PNG, "image/png", alt="A red square")
    run(linkedin.publish(ctx, PostContent(text="With a picture", media=[image])))
    init = fake_linkedin.requests_to("POST", "/rest/images")[-1]
    assert init.query == {"action": "initializeUpload"}
    assert init.json() == {"initializeUploadRequest": {"owner": ORG}}
    put = fake_linkedin.requests_to("PUT", r"/dms-uploads/.+")[-1]
    assert put.body == PNG and put.bearer() == ctx.tokens.access_token
    content = sent_post(fake_linkedin)["content"]
    assert isinstance(content, dict)
    urn = content["media"]["id"]
    assert content == {"media": {"id": urn, "altText": "A red square"}} and urn.startswith("urn:li:image:")
    assert fake_linkedin.state.images[urn] == {"owner": ORG, "status": "AVAILABLE", "size": len(PNG)}


def test_multi_image_post(linkedin: LinkedInPlatform, fake_linkedin: FakeLinkedIn, tmp_path: Path) -> None:
    ctx = connect(linkedin, fake_linkedin)
    images = [
        media_file(tmp_path, f"{i}.png", PNG + bytes([i]), "image/png", alt=f"img {i}") for i in range(3)
    ]
    run(linkedin.publish(ctx, PostContent(text="Gallery", media=images)))
    content = sent_post(fake_linkedin)["content"]
    assert isinstance(content, dict)
    entries = content["multiImage"]["images"]
    assert [e["altText"] for e in entries] == ["img 0", "img 1", "img 2"]
    assert all(e["id"].startswith("urn:li:image:") for e in entries)


def test_video_upload_flow(linkedin: LinkedInPlatform, fake_linkedin: FakeLinkedIn, tmp_path: Path) -> None:
    linkedin.video_poll_s = 0.01
    fake_linkedin.video_processing_polls = 2
    data = bytes(range(256)) * (9 * 4096)  # 9 MiB: three upload parts of at most 4 MiB
    video = media_file(tmp_path, "clip.mp4", data, "video/mp4")
    ctx = connect(linkedin, fake_linkedin)
    run(linkedin.publish(ctx, PostContent(text="Watch this", media=[video], options={"video_title": "Clip"})))
    puts = fake_linkedin.requests_to("PUT", r"/dms-uploads/.+")
    assert len(puts) == 3 and b"".join(p.body for p in puts) == data
    finalize = fake_linkedin.requests_to("POST", "/rest/videos")[-1]
    assert finalize.query == {"action": "finalizeUpload"}
    assert len(finalize.json()["finalizeUploadRequest"]["uploadedPartIds"]) == 3
    assert len(fake_linkedin.requests_to("GET", r"/rest/videos/.+")) == 3  # PROCESSING twice, then AVAILABLE
    content = sent_post(fake_linkedin)["content"]
    assert isinstance(content, dict) and content["media"]["title"] == "Clip"
    assert content["media"]["id"].startswith("urn:li:video:")


def test_video_still_processing_is_transient(
    linkedin: LinkedInPlatform, fake_linkedin: FakeLinkedIn, tmp_path: Path
) -> None:
    linkedin.video_poll_s, linkedin.video_wait_s = 0.01, 0.05
    fake_linkedin.video_processing_polls = 10_000
    ctx = connect(linkedin, fake_linkedin)
    video = media_file(tmp_path, "clip.mp4", b"\x00" * 2048, "video/mp4")
    with pytest.raises(Transient, match="still processing"):
        run(linkedin.publish(ctx, PostContent(text="Later", media=[video])))
    assert not fake_linkedin.state.posts


def test_duplicate_is_rejected_with_linkedins_message(
    linkedin: LinkedInPlatform, fake_linkedin: FakeLinkedIn
) -> None:
    ctx = connect(linkedin, fake_linkedin)
    first = run(linkedin.publish(ctx, PostContent(text="Same words")))
    with pytest.raises(Rejected, match=f"Content is a duplicate of {first.external_id}") as info:
        run(linkedin.publish(ctx, PostContent(text="Same words")))
    assert info.value.code == "DUPLICATE_POST" and info.value.status == 422


def test_find_published_matches_escaped_commentary(
    linkedin: LinkedInPlatform, fake_linkedin: FakeLinkedIn
) -> None:
    ctx = connect(linkedin, fake_linkedin, author_urn=ORG)
    since = datetime.now(UTC) - timedelta(seconds=5)
    content = PostContent(text="Q3 results (audited) for @investors")
    posted = run(linkedin.publish(ctx, content))
    run(linkedin.publish(ctx, PostContent(text="Another post")))
    found = run(linkedin.find_published(ctx, content, since))
    assert found is not None and found.external_id == posted.external_id
    query = fake_linkedin.requests_to("GET", "/rest/posts")[-1].query
    assert query["q"] == "author" and query["author"] == ORG and query["sortBy"] == "LAST_MODIFIED"
    assert run(linkedin.find_published(ctx, PostContent(text="Q3 results"), since)) is None
    later = datetime.now(UTC) + timedelta(minutes=10)
    assert run(linkedin.find_published(ctx, content, later)) is None


def test_member_posts_cannot_be_looked_up_without_r_member_social(
    linkedin: LinkedInPlatform, fake_linkedin: FakeLinkedIn
) -> None:
    ctx = connect(linkedin, fake_linkedin)
    content = PostContent(text="Did it land?")
    run(linkedin.publish(ctx, content))
    calls = len(fake_linkedin.requests)
    with pytest.raises(Rejected, match="r_member_social") as info:
        run(linkedin.find_published(ctx, content, datetime.now(UTC) - timedelta(minutes=1)))
    assert info.value.code == "cannot_look_up" and len(fake_linkedin.requests) == calls


def test_member_posts_are_found_with_r_member_social(fake_linkedin: FakeLinkedIn) -> None:
    platform = LinkedInPlatform(env=linkedin_env(fake_linkedin, "member r_member_social"))
    ctx = connect(platform, fake_linkedin)
    content = PostContent(text="Landed [yes]")
    posted = run(platform.publish(ctx, content))
    found = run(platform.find_published(ctx, content, datetime.now(UTC) - timedelta(minutes=1)))
    assert found is not None and found.external_id == posted.external_id


def test_delete_encodes_the_urn(linkedin: LinkedInPlatform, fake_linkedin: FakeLinkedIn) -> None:
    ctx = connect(linkedin, fake_linkedin)
    posted = run(linkedin.publish(ctx, PostContent(text="Short-lived")))
    run(linkedin.delete(ctx, posted.external_id))
    assert posted.external_id not in fake_linkedin.state.posts
    request = fake_linkedin.requests_to("DELETE", r"/rest/posts/.+")[-1]
    assert request.path == "/rest/posts/" + posted.external_id.replace(":", "%3A")
    assert request.header("x-restli-method") == "DELETE"
    run(linkedin.delete(ctx, posted.external_id))  # LinkedIn deletions are idempotent (204)


def test_sunset_version_is_a_clear_rejection(fake_linkedin: FakeLinkedIn) -> None:
    platform = LinkedInPlatform(env=linkedin_env(fake_linkedin, version="202401"))
    ctx = connect(platform, fake_linkedin)
    with pytest.raises(Rejected, match="OCMA_LINKEDIN_VERSION") as info:
        run(platform.publish(ctx, PostContent(text="Old version")))
    assert info.value.status == 426 and "Requested version 202401 is not active" in info.value.message


def test_fake_requires_version_headers(fake_linkedin: FakeLinkedIn, linkedin: LinkedInPlatform) -> None:
    import httpx

    ctx = connect(linkedin, fake_linkedin)
    auth = {"Authorization": f"Bearer {ctx.tokens.access_token}"}
    missing = httpx.post(f"{fake_linkedin.base_url}/rest/posts", headers=auth, json={})
    assert missing.status_code == 400 and missing.json()["code"] == "VERSION_MISSING"
    no_protocol = httpx.post(
        f"{fake_linkedin.base_url}/rest/posts", headers={**auth, "LinkedIn-Version": "202607"}, json={}
    )
    assert no_protocol.status_code == 400
