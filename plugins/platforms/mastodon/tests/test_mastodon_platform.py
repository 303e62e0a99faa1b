"""Mastodon-specific behaviour against FakeMastodon: apps, instances, limits, idempotency, media, errors."""

from __future__ import annotations

import hashlib
import json
import secrets
import stat
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from cryptography.fernet import Fernet
from fake_mastodon import FakeMastodon
from ocma_mastodon import MastodonPlatform

from ocma_core import AccountContext, AuthExpired, MediaItem, PostContent, RateLimited, Rejected, Unconfirmed
from ocma_core.oauth_client import authorize_url, new_code_verifier
from ocma_core.testing.conformance import run

REDIRECT = "http://127.0.0.1:8000/oauth/callback/mastodon"
KEY = Fernet.generate_key().decode()
LONG_URL = "https://example.com/articles/" + "a-very-long-slug-" * 10


@pytest.fixture
def fake() -> Iterator[FakeMastodon]:
    with FakeMastodon() as server:
        yield server


def _platform(fake: FakeMastodon, data_dir: Path, **extra: str) -> MastodonPlatform:
    env = {
        "OCMA_MASTODON_API_BASE": fake.base_url,
        "OCMA_DATA_DIR": str(data_dir),
        "OCMA_PUBLIC_URL": "http://127.0.0.1:8000",
        "OCMA_ENCRYPTION_KEYS": KEY,
        **extra,
    }
    return MastodonPlatform(env=env)


@pytest.fixture
def platform(fake: FakeMastodon, tmp_path: Path) -> MastodonPlatform:
    return _platform(fake, tmp_path)


def _connect(platform: MastodonPlatform, fake: FakeMastodon, instance: str | None = None) -> AccountContext:
    client = platform.oauth_client({"instance": instance})
    verifier = new_code_verifier()
    url = authorize_url(client, state="st", redirect_uri=REDIRECT, verifier=verifier)
    code, _ = fake.authorize(url)
    tokens = run(platform.exchange_code(code, verifier, REDIRECT, {"instance": instance}))
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


@pytest.fixture
def ctx(platform: MastodonPlatform, fake: FakeMastodon) -> AccountContext:
    return _connect(platform, fake)


def test_app_registration_is_cached_per_instance(
    fake: FakeMastodon, platform: MastodonPlatform, tmp_path: Path
) -> None:
    client = platform.oauth_client()
    (request,) = fake.requests_to("POST", "/api/v1/apps")
    assert request.json() == {
        "client_name": "OCMA",
        "redirect_uris": [REDIRECT],
        "scopes": "read:accounts read:statuses write:statuses write:media",
        "website": "http://127.0.0.1:8000",
    }
    cache = tmp_path / "mastodon-apps.json"
    assert stat.S_IMODE(cache.stat().st_mode) == 0o600
    assert json.loads(cache.read_text())[fake.base_url]["client_id"] == client.client_id
    again = _platform(fake, tmp_path).oauth_client()  # a new process reads the cache
    assert again.client_id == client.client_id and len(fake.requests_to("POST", "/api/v1/apps")) == 1
    query = parse_qs(
        urlsplit(authorize_url(client, state="s", redirect_uri=REDIRECT, verifier="v" * 43)).query
    )
    assert query["code_challenge_method"] == ["S256"] and query["scope"] == [" ".join(client.scopes)]
    moved = _platform(
        fake, tmp_path, OCMA_MASTODON_REDIRECT_URIS="https://ocma.example/oauth/callback/mastodon"
    )
    assert moved.oauth_client().client_id != client.client_id  # other redirect URIs: registered anew
    with FakeMastodon() as other:
        platform.oauth_client({"instance": other.base_url})
        assert set(json.loads(cache.read_text())) == {fake.base_url, other.base_url}


def test_client_secrets_are_encrypted_in_the_cache(
    fake: FakeMastodon, platform: MastodonPlatform, tmp_path: Path
) -> None:
    client = platform.oauth_client()
    cache = tmp_path / "mastodon-apps.json"
    stored = json.loads(cache.read_text())[fake.base_url]
    assert client.client_secret and client.client_secret not in cache.read_text()
    assert "client_secret" not in stored
    assert Fernet(KEY.encode()).decrypt(stored["client_secret_enc"].encode()).decode() == client.client_secret


def test_a_plain_cache_from_an_older_version_is_encrypted_on_read(
    fake: FakeMastodon, platform: MastodonPlatform, tmp_path: Path
) -> None:
    client = platform.oauth_client()
    cache = tmp_path / "mastodon-apps.json"
    old = json.loads(cache.read_text())
    entry = old[fake.base_url]
    entry["client_secret"] = Fernet(KEY.encode()).decrypt(entry.pop("client_secret_enc").encode()).decode()
    cache.write_text(json.dumps(old))
    assert platform.registry().get(fake.base_url)["client_secret"] == client.client_secret  # type: ignore[index]
    assert client.client_secret not in cache.read_text()
    assert len(fake.requests_to("POST", "/api/v1/apps")) == 1


def test_a_registration_whose_secret_no_key_decrypts_is_replaced(
    fake: FakeMastodon, platform: MastodonPlatform, tmp_path: Path
) -> None:
    platform.oauth_client()
    other_key = _platform(fake, tmp_path, OCMA_ENCRYPTION_KEYS=Fernet.generate_key().decode())
    assert other_key.registry().get(fake.base_url) is None
    other_key.oauth_client()
    assert len(fake.requests_to("POST", "/api/v1/apps")) == 2


def test_configured_client_for_the_default_instance(fake: FakeMastodon, tmp_path: Path) -> None:
    preset = _platform(fake, tmp_path, OCMA_MASTODON_CLIENT_ID="cid", OCMA_MASTODON_CLIENT_SECRET="csecret")
    assert preset.oauth_client().client_id == "cid"
    assert not fake.requests_to("POST", "/api/v1/apps")


def test_oauth_on_another_instance_and_a_stale_registration(
    platform: MastodonPlatform, fake: FakeMastodon
) -> None:
    with FakeMastodon(max_characters=1000) as other:
        ctx = _connect(platform, other, instance=other.base_url.upper().replace("HTTP://", "http://"))
        assert ctx.settings["instance"] == other.base_url and ctx.settings["max_characters"] == 1000
        assert ctx.tokens.refresh_token is None and ctx.tokens.expires_at is None
        token_form = parse_qs(other.requests_to("POST", "/oauth/token")[-1].body.decode())
        assert {"client_id", "client_secret", "code_verifier", "redirect_uri"} <= set(token_form)
        assert ctx.handle == f"ocma@{other.base_url.split('://')[1]}"
    client = platform.oauth_client()
    fake.apps.clear()  # the server lost OCMA's app: invalid_client drops the cached registration
    with pytest.raises(Rejected, match="start connecting again"):
        run(platform.exchange_code("any-code", None, REDIRECT))
    assert platform.registry().get(fake.base_url) is None
    assert client.client_id not in fake.apps


def test_connect_with_a_pasted_token(platform: MastodonPlatform, fake: FakeMastodon) -> None:
    token = fake.issue_token("read write")
    tokens = run(platform.connect_with_credentials({"instance": fake.base_url, "access_token": token}))
    assert tokens.extra == {"instance": fake.base_url}
    with pytest.raises(AuthExpired):
        run(platform.connect_with_credentials({"instance": fake.base_url, "access_token": "nope"}))


def test_instance_limit_and_url_counting(fake: FakeMastodon, platform: MastodonPlatform) -> None:
    fake.max_characters = 1000
    ctx = _connect(platform, fake)
    assert ctx.settings["max_characters"] == 1000
    long_text = "b" * 900
    assert any(p.code == "too_long" for p in platform.validate(PostContent(text=long_text)))  # stock 500
    assert platform.validate_for(PostContent(text=long_text), ctx.settings) == []
    assert run(platform.publish(ctx, PostContent(text=long_text))).external_id
    with_url = "a" * 470 + " " + LONG_URL  # 671 characters typed, 494 counted
    assert len(with_url) > 500 and platform.validate(PostContent(text=with_url)) == []
    with_mention = "c" * 480 + " @someone@a.very.long.instance.example"  # 490 counted
    assert platform.validate(PostContent(text=with_mention)) == []
    over = platform.validate(PostContent(text="d" * 490, options={"spoiler_text": "content warning"}))
    assert [p.code for p in over] == ["too_long"] and "505 characters" in over[0].message


def test_idempotency_key_makes_a_retry_return_the_same_status(
    fake: FakeMastodon, platform: MastodonPlatform, ctx: AccountContext
) -> None:
    platform.request_timeout_s = 1.0  # type: ignore[misc]
    content = PostContent(
        text="exactly once", thread=[PostContent(text="second part")], idempotency_key=secrets.token_hex(8)
    )
    fake.fail_next("timeout_after_store")
    with pytest.raises(Unconfirmed):
        run(platform.publish(ctx, content))
    result = run(platform.publish(ctx, content))  # the safe retry
    assert (
        fake.published_texts().count("exactly once") == 1 and fake.published_texts().count("second part") == 1
    )
    keys = [r.header("idempotency-key") for r in fake.requests_to("POST", "/api/v1/statuses")]
    assert keys[0] == keys[1] and keys[1] != keys[2] and all(k.startswith("ocma-") for k in keys)
    assert fake.statuses[result.part_ids[1]]["in_reply_to_id"] == result.external_id
    other = run(platform.publish(ctx, PostContent(text="exactly once", idempotency_key=secrets.token_hex(8))))
    assert other.external_id != result.external_id  # a new key is a new post


def test_media_upload_waits_for_processing(
    fake: FakeMastodon, platform: MastodonPlatform, ctx: AccountContext, tmp_path: Path
) -> None:
    platform.media_poll_interval_s = 0.01
    fake.media_processing_polls = 3
    path = tmp_path / "clip.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)
    item = MediaItem(
        path=path,
        mime_type="image/png",
        size=72,
        sha256=hashlib.sha256(path.read_bytes()).hexdigest(),
        alt_text="A diagram of the publishing flow",
    )
    result = run(platform.publish(ctx, PostContent(text="with media", media=[item])))
    upload = fake.requests_to("POST", "/api/v2/media")[0]
    assert upload.header("content-type").startswith("multipart/form-data")
    assert len(fake.requests_to("GET", r"/api/v1/media/\d+")) == 3
    attachment = fake.statuses[result.external_id]["media_attachments"][0]
    assert attachment["description"] == "A diagram of the publishing flow" and attachment["url"]


def test_visibility_content_warning_language_and_poll(
    fake: FakeMastodon, platform: MastodonPlatform, ctx: AccountContext
) -> None:
    options = {
        "visibility": "unlisted",
        "spoiler_text": "Spoilers",
        "language": "de",
        "poll": {"options": ["Ja", "Nein"], "expires_in": 3600},
    }
    result = run(platform.publish(ctx, PostContent(text="Umfrage", options=options)))
    body = fake.requests_to("POST", "/api/v1/statuses")[-1].json()
    assert body == {
        "status": "Umfrage",
        "visibility": "unlisted",
        "spoiler_text": "Spoilers",
        "language": "de",
        "poll": {"options": ["Ja", "Nein"], "expires_in": 3600, "multiple": False, "hide_totals": False},
    }
    status = fake.statuses[result.external_id]
    assert (status["visibility"], status["spoiler_text"], status["sensitive"]) == (
        "unlisted",
        "Spoilers",
        True,
    )
    assert [o["title"] for o in status["poll"]["options"]] == ["Ja", "Nein"]
    bad = platform.validate(
        PostContent(
            text="x",
            options={
                "visibility": "everyone",
                "language": "deu",
                "poll": {"options": ["only one"], "expires_in": 10},
            },
        )
    )
    assert {p.code for p in bad} == {"visibility", "language", "poll"}


def test_errors_map_to_typed_failures(
    fake: FakeMastodon, platform: MastodonPlatform, ctx: AccountContext
) -> None:
    fake.max_characters = 10  # the server is stricter than what OCMA knew: its 422 is a Rejected
    with pytest.raises(Rejected, match="character limit of 10 exceeded") as rejected:
        run(platform.publish(ctx, PostContent(text="more than ten characters")))
    assert rejected.value.status == 422
    fake.fail_next("rate_limit", retry_after_s=90)
    with pytest.raises(RateLimited) as limited:
        run(platform.publish(ctx, PostContent(text="short")))
    assert timedelta(seconds=80) < limited.value.retry_at - datetime.now(UTC) < timedelta(seconds=100)
    run(platform.delete(ctx, "1"))  # Mastodon's 404 "Record not found": already gone counts as deleted
    assert fake.requests_to("DELETE", r"/api/v1/statuses/1")
    read_only = AccountContext(
        account_id="a",
        external_id=ctx.external_id,
        handle=ctx.handle,
        tokens=type(ctx.tokens)(access_token=fake.issue_token("read")),
        settings=ctx.settings,
    )
    with pytest.raises(AuthExpired, match="outside the authorized scopes"):
        run(platform.publish(read_only, PostContent(text="short")))


def test_find_published_matches_rendered_html(
    fake: FakeMastodon, platform: MastodonPlatform, ctx: AccountContext
) -> None:
    since = datetime.now(UTC) - timedelta(seconds=5)
    content = PostContent(
        text=f"Hi @alice@example.social!\nRead {LONG_URL}\n\n#News & more",
        thread=[PostContent(text="part two")],
    )
    published = run(platform.publish(ctx, content))
    found = run(platform.find_published(ctx, content, since))
    assert found is not None and found.part_ids == published.part_ids
    assert run(platform.find_published(ctx, PostContent(text="never sent"), since)) is None


def test_metrics_delete_and_public_url(
    fake: FakeMastodon, platform: MastodonPlatform, ctx: AccountContext
) -> None:
    result = run(platform.publish(ctx, PostContent(text="count me")))
    fake.statuses[result.external_id].update(favourites_count=4, reblogs_count=2, replies_count=1)
    snapshot = run(platform.post_metrics(ctx, result.external_id))
    assert snapshot.values == {
        "favourites_count": 4,
        "reblogs_count": 2,
        "replies_count": 1,
        "quotes_count": 0,
    }
    assert "impressions" in snapshot.unavailable
    account = run(platform.account_metrics(ctx))
    assert account.values == {"followers_count": 42, "following_count": 7, "statuses_count": 1}
    assert platform.public_url(ctx, result.external_id) == f"{fake.base_url}/@ocma/{result.external_id}"
    assert result.url == platform.public_url(ctx, result.external_id)
    run(platform.delete(ctx, result.external_id))
    assert "count me" not in fake.published_texts()


def test_admin_webhook_delivery(fake: FakeMastodon, tmp_path: Path, ctx: AccountContext) -> None:
    platform = _platform(fake, tmp_path, OCMA_MASTODON_WEBHOOK_SECRET="hook-secret")
    result = run(platform.publish(ctx, PostContent(text="hooked")))
    headers, body = fake.webhook_delivery("status.created", result.external_id, "hook-secret")
    assert platform.verify_webhook(headers, body)
    assert not platform.verify_webhook({**headers, "X-Hub-Signature": "sha256=" + "0" * 64}, body)
    (event,) = platform.parse_webhook(body)
    assert (event.kind, event.external_post_id, event.external_account_id) == (
        "status.created",
        result.external_id,
        ctx.external_id,
    )


def test_past_statuses_are_listed_page_by_page_back_to_since(
    fake: FakeMastodon, platform: MastodonPlatform, ctx: AccountContext
) -> None:
    ids = [run(platform.publish(ctx, PostContent(text=f"old {i}"))).external_id for i in range(45)]
    run(platform.publish(ctx, PostContent(text="a thread", thread=[PostContent(text="its reply")])))
    seen: list[str] = []
    cursor = None
    while True:
        page = run(platform.list_past_posts(ctx, None, cursor))
        seen += [p.external_id for p in page.posts]
        if page.cursor is None:
            break
        cursor = page.cursor
    assert set(ids) < set(seen) and len(seen) == 46  # replies are parts of their thread, not posts
    texts = {p.text for p in run(platform.list_past_posts(ctx, None)).posts}
    assert "a thread" in texts and "its reply" not in texts
    later = run(platform.list_past_posts(ctx, datetime.now(UTC) + timedelta(hours=1)))
    assert later.posts == [] and later.cursor is None


def test_public_account_metrics_of_another_account(
    platform: MastodonPlatform, fake: FakeMastodon, ctx: AccountContext
) -> None:
    fake.public_accounts["rival@example.social"] = {
        "id": "7",
        "acct": "rival@example.social",
        "followers_count": 1200,
        "following_count": 30,
        "statuses_count": 815,
    }
    snap = run(platform.public_account_metrics(ctx, "rival@example.social"))
    assert snap.values == {"followers_count": 1200.0, "following_count": 30.0, "statuses_count": 815.0}
    with pytest.raises(Rejected):
        run(platform.public_account_metrics(ctx, "nobody@example.social"))
