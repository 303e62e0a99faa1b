"""REST routes of FakeMastodon: accounts, instance, statuses (with Idempotency-Key), media."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import fake_mastodon_text as text

from ocma_core.testing.fakeserver import FakeRequest, FakeResponse

if TYPE_CHECKING:
    from fake_mastodon import FakeMastodon

VISIBILITIES = ("public", "unlisted", "private", "direct")


def install_api(fake: FakeMastodon) -> None:
    """Register the API routes on `fake`."""
    from fake_mastodon import error, iso

    def guarded(
        request: FakeRequest, scope: str
    ) -> tuple[dict[str, Any] | None, FakeResponse | None, dict[str, str]]:
        grant = fake.caller(request, scope)
        if isinstance(grant, FakeResponse):
            return None, grant, {}
        headers, over = fake.rate_headers(request.bearer() or "")
        if over:
            return None, error(429, "Too many requests", headers), headers
        return grant, None, headers

    @fake.route("GET", "/api/v2/instance")
    def instance(request: FakeRequest) -> FakeResponse:
        return FakeResponse(200, fake.instance_json())

    @fake.route("GET", "/api/v1/accounts/verify_credentials")
    def verify_credentials(request: FakeRequest) -> FakeResponse:
        _, refused, headers = guarded(request, "read:accounts")
        if refused:
            return refused
        with fake.lock:
            count = len(fake.statuses)
        account = {
            **fake.account,
            "statuses_count": count,
            "source": {"privacy": "public", "sensitive": False},
        }
        return FakeResponse(200, account, headers)

    @fake.route("POST", "/api/v1/statuses")
    def post_status(request: FakeRequest) -> FakeResponse:
        forced = fake.pop_failure()
        if forced and forced[0] == "auth":
            return error(401, "The access token is invalid")
        _, refused, headers = guarded(request, "write:statuses")
        if refused:
            return refused
        if fake.should_hang():
            with fake.lock:
                fake.hanging += 1
            fake.released.wait(60)  # a server that stalls; the test lets it go on
            with fake.lock:
                fake.hanging -= 1
        if forced and forced[0] == "rate_limit":
            reset = time.time() + forced[1]
            from datetime import UTC, datetime

            limited = {
                "X-RateLimit-Limit": "300",
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset": datetime.fromtimestamp(reset, UTC)
                .isoformat(timespec="microseconds")
                .replace("+00:00", "Z"),
            }
            return error(429, "Too many requests", limited)
        if forced and forced[0] == "server_error":
            return error(503, "Service Unavailable")
        key = request.header("idempotency-key")
        account_id = fake.account["id"]
        if key:
            existing = fake.idempotent_status(account_id, key)
            if existing is not None:
                return FakeResponse(200, fake.status_json(existing), headers)
        body = request.json() if "json" in request.header("content-type") else request.form()
        status, problem = _create(fake, body or {})
        if problem is not None:
            return problem
        assert status is not None
        with fake.lock:
            fake.statuses[status["id"]] = status
            fake.status_posts += 1
            if key:
                fake.idempotency[(account_id, key)] = (status["id"], time.time())
            parent = fake.statuses.get(status["in_reply_to_id"] or "")
            if parent is not None:
                parent["replies_count"] += 1
        delay = 5.0 if forced and forced[0] == "timeout_after_store" else 0.0
        return FakeResponse(200, fake.status_json(status), headers, delay_s=delay)

    @fake.route("GET", r"/api/v1/statuses/(?P<id>\d+)")
    def get_status(request: FakeRequest) -> FakeResponse:
        _, refused, headers = guarded(request, "read:statuses")
        if refused:
            return refused
        status = fake.statuses.get(request.params["id"])
        if status is None:
            return error(404, "Record not found")
        return FakeResponse(200, fake.status_json(status), headers)

    @fake.route("DELETE", r"/api/v1/statuses/(?P<id>\d+)")
    def delete_status(request: FakeRequest) -> FakeResponse:
        _, refused, headers = guarded(request, "write:statuses")
        if refused:
            return refused
        with fake.lock:
            status = fake.statuses.pop(request.params["id"], None)
        if status is None:
            return error(404, "Record not found")
        return FakeResponse(200, {**fake.status_json(status), "text": status["text"]}, headers)

    @fake.route("GET", "/api/v1/accounts/lookup")
    def lookup(request: FakeRequest) -> FakeResponse:
        acct = request.query.get("acct", "").lstrip("@")
        found = fake.public_accounts.get(acct)
        return FakeResponse(200, found) if found else error(404, "Record not found")

    @fake.route("GET", r"/api/v1/accounts/(?P<id>\d+)/statuses")
    def account_statuses(request: FakeRequest) -> FakeResponse:
        _, refused, headers = guarded(request, "read:statuses")
        if refused:
            return refused
        if request.params["id"] != fake.account["id"]:
            return error(404, "Record not found")
        limit = min(int(request.query.get("limit", "20")), 40)
        max_id = request.query.get("max_id")
        with fake.lock:
            rows = sorted(fake.statuses.values(), key=lambda s: int(s["id"]), reverse=True)
        if max_id:
            rows = [s for s in rows if int(s["id"]) < int(max_id)]
        if request.query.get("exclude_replies") == "true":
            rows = [s for s in rows if not s["in_reply_to_id"]]
        page = rows[:limit]
        if page:
            nxt = f"{fake.base_url}/api/v1/accounts/{fake.account['id']}/statuses?max_id={page[-1]['id']}"
            headers = {**headers, "Link": f'<{nxt}>; rel="next"'}
        return FakeResponse(200, [fake.status_json(s) for s in page], headers)

    @fake.route("POST", "/api/v2/media")
    def upload_media(request: FakeRequest) -> FakeResponse:
        _, refused, headers = guarded(request, "write:media")
        if refused:
            return refused
        fields = text.multipart(request.header("content-type"), request.body)
        upload = fields.get("file")
        if not isinstance(upload, tuple) or not upload[1]:
            return error(422, "Validation failed: File content type is invalid, File is invalid")
        description = str(fields.get("description", ""))
        if len(description) > 1500:
            return error(422, "Validation failed: Description is too long (maximum is 1500 characters)")
        kind = "video" if upload[2].startswith("video/") else "image"
        media_id = fake.next_id()
        url = f"{fake.base_url}/system/media_attachments/files/{media_id}/original/{upload[0]}"
        entry = {
            "id": media_id,
            "type": kind,
            "url": None,
            "preview_url": url.replace("original", "small"),
            "remote_url": None,
            "description": description or None,
            "meta": {},
            "_url": url,
            "_polls_left": fake.media_processing_polls,
            "_size": len(upload[1]),
            "_content_type": upload[2],
        }
        if entry["_polls_left"] == 0:
            entry["url"] = url
        with fake.lock:
            fake.media[media_id] = entry
        public = {k: v for k, v in entry.items() if not k.startswith("_")}
        return FakeResponse(200 if entry["url"] else 202, public, headers)

    @fake.route("GET", r"/api/v1/media/(?P<id>\d+)")
    def get_media(request: FakeRequest) -> FakeResponse:
        _, refused, headers = guarded(request, "write:media")
        if refused:
            return refused
        with fake.lock:
            entry = fake.media.get(request.params["id"])
            if entry is None:
                return error(404, "Record not found")
            if entry["url"] is None:
                entry["_polls_left"] -= 1
                if entry["_polls_left"] <= 0:
                    entry["url"] = entry["_url"]
        public = {k: v for k, v in entry.items() if not k.startswith("_")}
        return FakeResponse(200 if public["url"] else 206, public, headers)

    def _create(
        fake: FakeMastodon, body: dict[str, Any]
    ) -> tuple[dict[str, Any] | None, FakeResponse | None]:
        source = body.get("status") or ""
        media_ids = body.get("media_ids") or []
        poll = body.get("poll")
        if not isinstance(source, str) or not isinstance(media_ids, list):
            return None, error(422, "Validation failed: status must be a string and media_ids an array")
        if not source.strip() and not media_ids:
            return None, error(422, "Validation failed: Text can't be blank")
        visibility = body.get("visibility") or "public"
        if visibility not in VISIBILITIES:
            return None, error(422, "Validation failed: Visibility is not included in the list")
        spoiler = str(body.get("spoiler_text") or "")
        if text.countable_length(source, spoiler, 23) > fake.max_characters:
            return None, error(
                422, f"Validation failed: Text character limit of {fake.max_characters} exceeded"
            )
        if len(media_ids) > 4:
            return None, error(422, "Cannot attach more than 4 files")
        attachments = []
        for media_id in media_ids:
            entry = fake.media.get(str(media_id))
            if entry is None:
                return None, error(422, "Validation failed: media_ids are invalid")
            if entry["url"] is None:
                return None, error(
                    422, "Cannot attach files that have not finished processing. Try again in a moment!"
                )
            attachments.append({k: v for k, v in entry.items() if not k.startswith("_")})
        if poll is not None:
            if media_ids:
                return None, error(422, "Cannot attach both files and a poll")
            options = poll.get("options") if isinstance(poll, dict) else None
            expires = poll.get("expires_in") if isinstance(poll, dict) else None
            if not isinstance(options, list) or not 2 <= len(options) <= 4:
                return None, error(422, "Validation failed: Poll options must have between 2 and 4 items")
            if not isinstance(expires, int) or not 300 <= expires <= 2629746:
                return None, error(422, "Validation failed: Poll expires at is invalid")
        language = body.get("language")
        if language is not None and not (isinstance(language, str) and len(language) == 2):
            return None, error(422, "Validation failed: Language is not a valid ISO 639-1 code")
        reply_to = body.get("in_reply_to_id")
        if reply_to and str(reply_to) not in fake.statuses:
            return None, error(404, "Record not found")
        status_id = fake.next_id()
        now = time.time()
        return {
            "id": status_id,
            "created_at": iso(now),
            "in_reply_to_id": str(reply_to) if reply_to else None,
            "in_reply_to_account_id": fake.account["id"] if reply_to else None,
            "sensitive": bool(body.get("sensitive")) or bool(spoiler),
            "spoiler_text": spoiler,
            "visibility": visibility,
            "language": language or "en",
            "uri": f"{fake.base_url}/users/{fake.account['username']}/statuses/{status_id}",
            "url": f"{fake.base_url}/@{fake.account['username']}/{status_id}",
            "replies_count": 0,
            "reblogs_count": 0,
            "favourites_count": 0,
            "quotes_count": 0,
            "edited_at": None,
            "content": fake.render(source),
            "reblog": None,
            "application": {"name": "OCMA", "website": None},
            "account": {k: fake.account[k] for k in ("id", "username", "acct", "display_name", "url")},
            "media_attachments": attachments,
            "mentions": [],
            "tags": [],
            "emojis": [],
            "card": None,
            "poll": None
            if poll is None
            else {
                "id": fake.next_id(),
                "expires_at": iso(now + poll["expires_in"]),
                "expired": False,
                "multiple": bool(poll.get("multiple")),
                "votes_count": 0,
                "options": [{"title": str(o), "votes_count": 0} for o in poll["options"]],
            },
            "text": source,
        }, None
