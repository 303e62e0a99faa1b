"""FakeLinkedIn's Posts API: POST /rest/posts with LinkedIn's body checks, the author finder, GET, DELETE.

POST answers 201 with an empty body and the new URN in `x-restli-id`. Commentary is read as the "little"
format: LinkedIn keeps it only up to the first unescaped reserved character (reported by client authors), so
the fake does the same. A repeated commentary by the same author is 422 DUPLICATE_POST.
"""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from ocma_core.testing import FakeRequest, FakeResponse

if TYPE_CHECKING:
    from fake_linkedin import FakeLinkedIn, Grant

AUTHOR = re.compile(r"^urn:li:(person|organization):([A-Za-z0-9_-]+)$")
POST_FIELDS = frozenset(
    {
        "author",
        "commentary",
        "visibility",
        "distribution",
        "lifecycleState",
        "isReshareDisabledByAuthor",
        "content",
        "contentLandingPage",
        "contentCallToActionLabel",
        "reshareContext",
        "container",
    }
)
# The fake's own reading of the little format (independent of the plugin's escaping code).
LITTLE_RESERVED = set("|{}@[]()<>\\*_~")
LITTLE_MENTION = re.compile(r"@\[[^\]]*\]\(urn:li:(?:person|organization):[^)]+\)")


def first_unescaped_reserved(commentary: str) -> int | None:
    """Where LinkedIn cuts a commentary: the first reserved character neither escaped nor in a mention."""
    i = 0
    while i < len(commentary):
        mention = LITTLE_MENTION.match(commentary, i)
        if mention:
            i = mention.end()
        elif commentary[i] == "\\":
            i += 2
        elif commentary[i] in LITTLE_RESERVED:
            return i
        else:
            i += 1
    return None


def unescape_commentary(commentary: str) -> str:
    """The text a reader sees: backslash escapes resolved."""
    return re.sub(r"\\(.)", lambda m: m.group(1), commentary)


def li_error(*args: Any, **kwargs: Any) -> FakeResponse:
    """LinkedIn's error body (see fake_linkedin.li_error)."""
    from fake_linkedin import li_error as make

    return make(*args, **kwargs)


def unprocessable(path: str, reason: str) -> FakeResponse:
    """A 422 schema error in LinkedIn's `ERROR :: /path :: reason` form."""
    return li_error(422, f"ERROR :: {path} :: {reason}\n")


def install_post_routes(fake: FakeLinkedIn) -> None:
    """Add the /rest/posts routes to `fake`."""

    @fake.route("POST", "/rest/posts")
    def create(request: FakeRequest) -> FakeResponse:
        return create_post(fake, request)

    @fake.route("GET", "/rest/posts")
    def find_posts(request: FakeRequest) -> FakeResponse:
        grant = fake.rest(request)
        if isinstance(grant, FakeResponse):
            return grant
        if request.query.get("q") != "author":
            return li_error(400, "Invalid finder: q must be author", "ILLEGAL_ARGUMENT")
        author = request.query.get("author", "")
        if not fake.may_act_as(grant, author, write=False):
            return li_error(
                403,
                "Not enough permissions to access: partnerApiPostsExternal.FINDER-author",
                "ACCESS_DENIED",
                100,
            )
        start, count = (
            int(request.query.get("start", "0")),
            min(int(request.query.get("count", "10")), 100),
        )
        with fake.lock:
            mine = sorted(
                (p for p in fake.state.posts.values() if p["author"] == author),
                key=lambda p: p["lastModifiedAt"],
                reverse=True,
            )
        page = mine[start : start + count]
        return FakeResponse(
            200,
            {
                "paging": {"start": start, "count": count, "total": len(mine), "links": []},
                "elements": page,
            },
        )

    @fake.route("GET", r"/rest/posts/(?P<urn>[^/]+)")
    def get_post(request: FakeRequest) -> FakeResponse:
        grant = fake.rest(request)
        if isinstance(grant, FakeResponse):
            return grant
        with fake.lock:
            post = fake.state.posts.get(unquote(request.params["urn"]))
        return FakeResponse(200, post) if post else li_error(404, "Not Found", "NOT_FOUND")

    @fake.route("DELETE", r"/rest/posts/(?P<urn>[^/]+)")
    def delete_post(request: FakeRequest) -> FakeResponse:
        grant = fake.rest(request)
        if isinstance(grant, FakeResponse):
            return grant
        urn = unquote(request.params["urn"])
        with fake.lock:
            post = fake.state.posts.get(urn)
        if post is None:
            return FakeResponse(204)  # deletions are idempotent
        if not fake.may_act_as(grant, post["author"], write=True):
            return li_error(
                403,
                "Not enough permissions to access: partnerApiPostsExternal.DELETE",
                "ACCESS_DENIED",
                100,
            )
        with fake.lock:
            fake.state.posts.pop(urn, None)
        return FakeResponse(204)


def create_post(fake: FakeLinkedIn, request: FakeRequest) -> FakeResponse:
    grant = fake.rest(request)
    with fake.lock:
        forced = fake.pending.popleft() if fake.pending else None
    if forced and forced[0] == "auth":
        return li_error(401, "Invalid access token", service=65600)
    if isinstance(grant, FakeResponse):
        return grant
    if forced and forced[0] in ("rate_limit", "rate_limit_daily"):
        headers = {"Retry-After": f"{forced[1]:g}"} if forced[0] == "rate_limit" else {}
        return li_error(
            429,
            "Resource level throttle limit for calls to this resource is reached.",
            "TOO_MANY_REQUESTS",
            headers=headers,
        )
    if forced and forced[0] == "server_error":
        return li_error(500, "Internal Server Error", "INTERNAL_SERVER_ERROR")
    body = request.json()
    problem = check_post(fake, grant, body)
    if problem is not None:
        return problem
    commentary = str(body.get("commentary", ""))
    cut = first_unescaped_reserved(commentary)
    if cut is not None:  # LinkedIn keeps the text up to the first unescaped reserved character
        with fake.lock:
            fake.state.truncated.append(commentary)
        commentary = commentary[:cut]
    with fake.lock:
        duplicate = next(
            (
                u
                for u, p in fake.state.posts.items()
                if p["author"] == body["author"] and p["commentary"] == commentary
            ),
            None,
        )
    if duplicate:
        return FakeResponse(
            422,
            {
                "errorDetailType": "com.linkedin.common.error.BadRequest",
                "message": "com.linkedin.content.common.exception.BadRequestResponseException: Content is a "
                f"duplicate of {duplicate}",
                "errorDetails": {
                    "inputErrors": [
                        {
                            "description": "Duplicate post is detected",
                            "input": {},
                            "code": "DUPLICATE_POST",
                        }
                    ]
                },
                "status": 422,
            },
        )
    urn = f"urn:li:share:{fake.new_id()}"
    now_ms = int(time.time() * 1000)
    post = {
        **body,
        "id": urn,
        "commentary": commentary,
        "createdAt": now_ms,
        "publishedAt": now_ms,
        "lastModifiedAt": now_ms,
        "isEditedByAuthor": False,
    }
    with fake.lock:
        fake.state.posts[urn] = post
    headers = {"x-restli-id": urn, "x-linkedin-id": urn}
    return FakeResponse(
        201, None, headers, delay_s=5.0 if forced and forced[0] == "timeout_after_store" else 0
    )


def check_post(fake: FakeLinkedIn, grant: Grant, body: Any) -> FakeResponse | None:
    if not isinstance(body, dict):
        return li_error(400, "Request body could not be converted to data map", "ILLEGAL_ARGUMENT")
    for name in body:
        if name not in POST_FIELDS:
            return unprocessable(f"/{name}", "unrecognized field found but not allowed")
    for name in ("author", "commentary", "visibility", "distribution", "lifecycleState"):
        if name not in body:
            return unprocessable(f"/{name}", "field is required but not found and has no default value")
    if not AUTHOR.match(str(body["author"])):
        return unprocessable("/author", f"{body['author']!r} is not a person or organization URN")
    if not fake.may_act_as(grant, body["author"], write=True):
        return li_error(
            403,
            "Not enough permissions to access: partnerApiPostsExternal.CREATE.20260701",
            "ACCESS_DENIED",
            100,
        )
    if body["visibility"] not in ("PUBLIC", "CONNECTIONS", "LOGGED_IN", "CONTAINER"):
        return unprocessable("/visibility", f"{body['visibility']!r} is not a valid symbol")
    dist = body["distribution"]
    if not isinstance(dist, dict) or dist.get("feedDistribution") not in ("MAIN_FEED", "NONE"):
        return unprocessable("/distribution/feedDistribution", "must be MAIN_FEED or NONE")
    for name in ("targetEntities", "thirdPartyDistributionChannels"):
        if not isinstance(dist.get(name, []), list):
            return unprocessable(f"/distribution/{name}", "must be an array")
    if body["lifecycleState"] not in ("PUBLISHED", "DRAFT"):
        return unprocessable("/lifecycleState", f"{body['lifecycleState']!r} is not a valid symbol")
    if not isinstance(body["commentary"], str):
        return unprocessable("/commentary", "must be a string")
    if len(unescape_commentary(body["commentary"])) > 3000:
        return unprocessable("/commentary", "length exceeds the maximum of 3000 characters")
    if "isReshareDisabledByAuthor" in body and not isinstance(body["isReshareDisabledByAuthor"], bool):
        return unprocessable("/isReshareDisabledByAuthor", "must be a boolean")
    return check_content(fake, body)


def check_content(fake: FakeLinkedIn, body: dict[str, Any]) -> FakeResponse | None:
    content = body.get("content")
    if content is None:
        return None
    if not isinstance(content, dict) or len(content) != 1:
        return unprocessable("/content", "exactly one content type is required")
    if "multiImage" in content:
        images = content["multiImage"].get("images") if isinstance(content["multiImage"], dict) else None
        if not isinstance(images, list) or not 2 <= len(images) <= 20:
            return unprocessable("/content/multiImage/images", "must hold between 2 and 20 images")
        entries = images
    elif "media" in content and isinstance(content["media"], dict):
        entries = [content["media"]]
    else:
        return unprocessable("/content", f"unsupported content {sorted(content)}")
    for entry in entries:
        urn = str(entry.get("id", ""))
        with fake.lock:
            asset = fake.state.images.get(urn) or fake.state.videos.get(urn)
        if asset is None or asset["status"] != "AVAILABLE":
            return unprocessable("/content/media/id", f"{urn} is not an available image or video")
        if asset["owner"] != body["author"]:
            return unprocessable("/content/media/id", f"{urn} is owned by {asset['owner']}, not the author")
        if "urn:li:video:" in urn and "multiImage" in content:
            return unprocessable("/content/multiImage/images", "only images are allowed")
    return None
