"""Post and account metrics, which LinkedIn exposes differently per author type.

Organisation pages (Community Management API, r_organization_social / rw_organization_admin):
  GET /rest/organizationalEntityShareStatistics?q=organizationalEntity&organizationalEntity={org}
      &shares=List({urn}) (or ugcPosts=List(...)) -> elements[].totalShareStatistics
  GET /rest/networkSizes/{org}?edgeType=COMPANY_FOLLOWED_BY_MEMBER -> {firstDegreeSize}
Members: only with the restricted scopes of the Community Management API:
  GET /rest/memberCreatorPostAnalytics?q=entity&entity=(share:{urn})&queryType=X&aggregation=TOTAL
      (r_member_postAnalytics; one metric per call; q=me aggregates all the member's posts)
  GET /rest/memberFollowersCount?q=me (r_member_profileAnalytics) -> elements[].memberFollowersCount
Apps with only "Share on LinkedIn" + "Sign In with LinkedIn" get no member metrics: we say so, never estimate.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ocma_core import MetricsSnapshot, Rejected, numeric_values
from ocma_linkedin.auth import MEMBER_POST_ANALYTICS, MEMBER_PROFILE_ANALYTICS
from ocma_linkedin.errors import raise_for_linkedin
from ocma_linkedin.restli import encode, post_kind, restli_list

if TYPE_CHECKING:
    from ocma_core import AccountContext
    from ocma_linkedin.platform import LinkedInPlatform

ORG_POST_FIELDS = (
    "impressionCount",
    "uniqueImpressionsCount",
    "clickCount",
    "likeCount",
    "commentCount",
    "shareCount",
    "engagement",
)
MEMBER_POST_METRICS = ("IMPRESSION", "MEMBERS_REACHED", "REACTION", "COMMENT", "RESHARE")
NO_MEMBER_ANALYTICS = (
    "LinkedIn exposes no post analytics for member (personal) posts to this app: member analytics need the "
    f"restricted {MEMBER_POST_ANALYTICS} scope of the Community Management API, which the account's token "
    "does not carry."
)


def _now() -> datetime:
    return datetime.now(UTC)


async def _get(platform: LinkedInPlatform, ctx: AccountContext, url: str, bucket: str) -> dict[str, Any]:
    response = await platform.send("GET", url, ctx=ctx, bucket=bucket, headers=platform.rest_headers(ctx))
    raise_for_linkedin(response)
    body = response.json()
    return body if isinstance(body, dict) else {}


async def organization_post(
    platform: LinkedInPlatform, ctx: AccountContext, org: str, urn: str
) -> MetricsSnapshot:
    """Lifetime share statistics of one organisation post."""
    kind = post_kind(urn)
    if kind is None:
        raise Rejected(f"{urn!r} is not a LinkedIn post URN (urn:li:share:... or urn:li:ugcPost:...).")
    param = "shares" if kind == "share" else "ugcPosts"
    url = (
        f"{platform.api_base}/rest/organizationalEntityShareStatistics?q=organizationalEntity"
        f"&organizationalEntity={encode(org)}&{param}={restli_list(urn)}"
    )
    body = await _get(platform, ctx, url, "organizationalEntityShareStatistics")
    elements = [e for e in body.get("elements", []) if isinstance(e, dict)]
    stats = next((e.get("totalShareStatistics") for e in elements if e.get(kind) == urn), None)
    if stats is None and len(elements) == 1:
        stats = elements[0].get("totalShareStatistics")
    if not isinstance(stats, dict):
        return MetricsSnapshot(
            values={},
            fetched_at=_now(),
            unavailable=ORG_POST_FIELDS,
            note=f"LinkedIn returned no share statistics for {urn} (yet).",
        )
    values = numeric_values(stats, ORG_POST_FIELDS)
    missing = tuple(k for k in ORG_POST_FIELDS if k not in values)
    return MetricsSnapshot(
        values=values,
        fetched_at=_now(),
        unavailable=missing,
        note="organizationalEntityShareStatistics (lifetime totals)",
    )


async def _member_metric(
    platform: LinkedInPlatform, ctx: AccountContext, finder: str, metric: str
) -> float | None:
    url = f"{platform.api_base}/rest/memberCreatorPostAnalytics?{finder}&queryType={metric}&aggregation=TOTAL"
    body = await _get(platform, ctx, url, "memberCreatorPostAnalytics")
    elements = [e for e in body.get("elements", []) if isinstance(e, dict)]
    if not elements:
        return None
    count = elements[0].get("count")
    return float(count) if isinstance(count, int | float) else None


def has_scope(ctx: AccountContext, scope: str) -> bool:
    """True when the account's token was granted `scope`."""
    return scope in ctx.tokens.scopes


async def member_post(platform: LinkedInPlatform, ctx: AccountContext, urn: str) -> MetricsSnapshot:
    """Member post analytics when the token allows them; otherwise an empty snapshot that says why."""
    if not has_scope(ctx, MEMBER_POST_ANALYTICS):
        return MetricsSnapshot(
            values={}, fetched_at=_now(), unavailable=MEMBER_POST_METRICS, note=NO_MEMBER_ANALYTICS
        )
    kind = post_kind(urn)
    if kind is None:
        raise Rejected(f"{urn!r} is not a LinkedIn post URN (urn:li:share:... or urn:li:ugcPost:...).")
    entity = f"({'share' if kind == 'share' else 'ugc'}:{encode(urn)})"
    values: dict[str, float] = {}
    for metric in MEMBER_POST_METRICS:
        value = await _member_metric(platform, ctx, f"q=entity&entity={entity}", metric)
        if value is not None:
            values[metric] = value
    missing = tuple(m for m in MEMBER_POST_METRICS if m not in values)
    return MetricsSnapshot(
        values=values,
        fetched_at=_now(),
        unavailable=missing,
        note="memberCreatorPostAnalytics (aggregation TOTAL)",
    )


async def organization_account(platform: LinkedInPlatform, ctx: AccountContext, org: str) -> MetricsSnapshot:
    """Follower count of an organisation page."""
    url = f"{platform.api_base}/rest/networkSizes/{encode(org)}?edgeType=COMPANY_FOLLOWED_BY_MEMBER"
    body = await _get(platform, ctx, url, "networkSizes")
    size = body.get("firstDegreeSize")
    if not isinstance(size, int | float):
        return MetricsSnapshot(
            values={},
            fetched_at=_now(),
            unavailable=("followers",),
            note=f"LinkedIn returned no follower count for {org}.",
        )
    return MetricsSnapshot(
        values={"followers": float(size)},
        fetched_at=_now(),
        note="networkSizes COMPANY_FOLLOWED_BY_MEMBER firstDegreeSize",
    )


async def member_account(platform: LinkedInPlatform, ctx: AccountContext) -> MetricsSnapshot:
    """Member followers and aggregated post analytics, each only when the token has the restricted scope."""
    values: dict[str, float] = {}
    notes: list[str] = []
    unavailable: list[str] = []
    if has_scope(ctx, MEMBER_PROFILE_ANALYTICS):
        body = await _get(
            platform, ctx, f"{platform.api_base}/rest/memberFollowersCount?q=me", "memberFollowersCount"
        )
        element = next((e for e in body.get("elements", []) if isinstance(e, dict)), {})
        count = element.get("memberFollowersCount")
        if isinstance(count, int | float):
            values["followers"] = float(count)
        if "followers" not in values:
            notes.append("LinkedIn returned no memberFollowersCount")
    else:
        notes.append(
            f"LinkedIn exposes member follower counts only with the restricted {MEMBER_PROFILE_ANALYTICS} "
            "scope, which this token lacks"
        )
    if "followers" not in values:
        unavailable.append("followers")
    if has_scope(ctx, MEMBER_POST_ANALYTICS):
        for metric in MEMBER_POST_METRICS:
            value = await _member_metric(platform, ctx, "q=me", metric)
            if value is not None:
                values[metric] = value
        if any(m not in values for m in MEMBER_POST_METRICS):
            notes.append("LinkedIn returned no aggregate for some post metrics")
    else:
        notes.append(
            f"LinkedIn exposes aggregated member post analytics only with the restricted "
            f"{MEMBER_POST_ANALYTICS} scope, which this token lacks"
        )
    unavailable.extend(m for m in MEMBER_POST_METRICS if m not in values)
    note = "; ".join(notes) if notes else "memberFollowersCount and memberCreatorPostAnalytics (q=me, TOTAL)"
    return MetricsSnapshot(values=values, fetched_at=_now(), unavailable=tuple(unavailable), note=note)
