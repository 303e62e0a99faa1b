"""FakeLinkedIn routes for media uploads, organisation pages and statistics (see fake_linkedin.py).

Images API: POST /rest/images?action=initializeUpload -> {value:{uploadUrl, uploadUrlExpiresAt, image}}, then
PUT uploadUrl. Videos API: initializeUpload -> {value:{video, uploadToken, uploadUrlsExpireAt,
uploadInstructions:[{uploadUrl, firstByte, lastByte}]}}, PUT parts (ETag), finalizeUpload, GET
/rest/videos/{urn} -> {status}. Organisations: organizationAcls (q=roleAssignee), organizations/{id},
networkSizes/{urn}?edgeType=COMPANY_FOLLOWED_BY_MEMBER -> {firstDegreeSize}. Statistics:
organizationalEntityShareStatistics (shares=List(...) / ugcPosts=List(...)), memberCreatorPostAnalytics
(q=entity / q=me, one queryType per call), memberFollowersCount (q=me).
"""

from __future__ import annotations

import re
import secrets
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from ocma_core.testing import FakeRequest, FakeResponse

if TYPE_CHECKING:
    from fake_linkedin import FakeLinkedIn, Grant

PART_BYTES = 4 * 1024 * 1024
ORG_STATS = (
    "impressionCount",
    "uniqueImpressionsCount",
    "clickCount",
    "likeCount",
    "commentCount",
    "shareCount",
)
# memberCreatorPostAnalytics queryType -> the counter the fake keeps per post
MEMBER_METRICS = {
    "IMPRESSION": "impressionCount",
    "MEMBERS_REACHED": "uniqueImpressionsCount",
    "REACTION": "likeCount",
    "COMMENT": "commentCount",
    "RESHARE": "shareCount",
}
ENTITY = re.compile(r"^\((share|ugc):(urn:li:(?:share|ugcPost):\d+)\)$")


def _paged(elements: list[dict[str, Any]]) -> dict[str, Any]:
    return {"paging": {"start": 0, "count": max(len(elements), 10), "links": []}, "elements": elements}


def _stats(fake: FakeLinkedIn, urn: str) -> dict[str, float]:
    with fake.lock:
        held = dict(fake.state.stats.get(urn, {}))
    values = {k: held.get(k, 0) for k in ORG_STATS}
    engaged = values["clickCount"] + values["likeCount"] + values["commentCount"] + values["shareCount"]
    values["engagement"] = engaged / values["impressionCount"] if values["impressionCount"] else 0.0
    return values


def install_rest_routes(fake: FakeLinkedIn) -> None:
    """Add the media, organisation and statistics routes to `fake`."""
    from fake_linkedin import li_error

    def denied(resource: str) -> FakeResponse:
        return li_error(403, f"Not enough permissions to access: {resource}", "ACCESS_DENIED", 100)

    def upload_url(kind: str, urn: str, part: int = 0) -> str:
        upload_id = secrets.token_urlsafe(12)
        with fake.lock:
            fake.state.uploads[upload_id] = (kind, urn, part)
        return f"{fake.base_url}/dms-uploads/{upload_id}/uploaded-file"

    @fake.route("POST", "/rest/images")
    def images(request: FakeRequest) -> FakeResponse:
        grant = fake.rest(request)
        if isinstance(grant, FakeResponse):
            return grant
        if request.query.get("action") != "initializeUpload":
            return li_error(400, "Unsupported action", "ILLEGAL_ARGUMENT")
        owner = str(((request.json() or {}).get("initializeUploadRequest") or {}).get("owner", ""))
        if not fake.may_act_as(grant, owner, write=True):
            return denied("images.ACTION-initializeUpload")
        urn = f"urn:li:image:D{secrets.token_hex(8).upper()}"
        with fake.lock:
            fake.state.images[urn] = {"owner": owner, "status": "WAITING_UPLOAD", "size": 0}
        expires = int((time.time() + 3600) * 1000)
        return FakeResponse(
            200,
            {"value": {"uploadUrlExpiresAt": expires, "uploadUrl": upload_url("image", urn), "image": urn}},
        )

    @fake.route("POST", "/rest/videos")
    def videos(request: FakeRequest) -> FakeResponse:
        grant = fake.rest(request)
        if isinstance(grant, FakeResponse):
            return grant
        body = request.json() or {}
        if request.query.get("action") == "initializeUpload":
            init = body.get("initializeUploadRequest") or {}
            owner, size = str(init.get("owner", "")), init.get("fileSizeBytes")
            if not fake.may_act_as(grant, owner, write=True):
                return denied("videos.ACTION-initializeUpload")
            if not isinstance(size, int) or size <= 0:
                return li_error(422, "ERROR :: /initializeUploadRequest/fileSizeBytes :: field is required\n")
            urn = f"urn:li:video:C{secrets.token_hex(8).upper()}"
            parts = [
                {
                    "uploadUrl": upload_url("video", urn, i),
                    "firstByte": first,
                    "lastByte": min(first + PART_BYTES, size) - 1,
                }
                for i, first in enumerate(range(0, size, PART_BYTES))
            ]
            with fake.lock:
                fake.state.videos[urn] = {
                    "owner": owner,
                    "status": "WAITING_UPLOAD",
                    "size": size,
                    "etags": {},
                    "parts": len(parts),
                    "polls": 0,
                }
            return FakeResponse(
                200,
                {
                    "value": {
                        "uploadUrlsExpireAt": int((time.time() + 3600) * 1000),
                        "video": urn,
                        "uploadInstructions": parts,
                        "uploadToken": "",
                    }
                },
            )
        if request.query.get("action") == "finalizeUpload":
            fin = body.get("finalizeUploadRequest") or {}
            with fake.lock:
                video = fake.state.videos.get(str(fin.get("video")))
            if video is None:
                return li_error(404, "Video not found", "NOT_FOUND")
            expected = [video["etags"].get(i) for i in range(video["parts"])]
            if fin.get("uploadedPartIds") != expected:
                return li_error(400, "uploadedPartIds do not match the uploaded parts", "ILLEGAL_ARGUMENT")
            video["status"] = "PROCESSING"
            return FakeResponse(200, None)
        return li_error(400, "Unsupported action", "ILLEGAL_ARGUMENT")

    @fake.route("GET", r"/rest/videos/(?P<urn>[^/]+)")
    def video_status(request: FakeRequest) -> FakeResponse:
        grant = fake.rest(request)
        if isinstance(grant, FakeResponse):
            return grant
        urn = unquote(request.params["urn"])
        with fake.lock:
            video = fake.state.videos.get(urn)
            if video is None:
                return li_error(404, "Video not found", "NOT_FOUND")
            if video["status"] == "PROCESSING":
                video["polls"] += 1
                if video["polls"] > fake.video_processing_polls:
                    video["status"] = "AVAILABLE"
            return FakeResponse(200, {"id": urn, "owner": video["owner"], "status": video["status"]})

    @fake.route("PUT", r"/dms-uploads/(?P<id>[^/]+)/uploaded-file")
    def upload(request: FakeRequest) -> FakeResponse:
        grant = fake.grant(request)
        if isinstance(grant, FakeResponse):
            return grant
        with fake.lock:
            target = fake.state.uploads.get(request.params["id"])
        if target is None:
            return FakeResponse(404, b"")
        kind, urn, part = target
        if not request.body:
            return FakeResponse(400, b"")
        with fake.lock:
            if kind == "image":
                fake.state.images[urn].update(status="AVAILABLE", size=len(request.body))
                return FakeResponse(201, b"")
            etag = "/ambry-video/signedId/" + secrets.token_hex(6)
            fake.state.videos[urn]["etags"][part] = etag
        return FakeResponse(200, b"", {"ETag": etag})

    @fake.route("GET", "/rest/organizationAcls")
    def acls(request: FakeRequest) -> FakeResponse:
        grant = fake.rest(request)
        if isinstance(grant, FakeResponse):
            return grant
        if request.query.get("q") != "roleAssignee":
            return li_error(400, "Invalid finder", "ILLEGAL_ARGUMENT")
        if not {"rw_organization_admin", "w_organization_social", "r_organization_social"} & set(
            grant.scopes
        ):
            return denied("organizationAcls.FINDER-roleAssignee")
        role, state = request.query.get("role"), request.query.get("state")
        with fake.lock:
            rows = [
                dict(a)
                for a in fake.state.acls
                if a["roleAssignee"] == f"urn:li:person:{grant.sub}"
                and (role is None or a["role"] == role)
                and (state is None or a["state"] == state)
            ]
        return FakeResponse(200, _paged(rows))

    @fake.route("GET", r"/rest/organizations/(?P<id>\d+)")
    def organization(request: FakeRequest) -> FakeResponse:
        grant = fake.rest(request)
        if isinstance(grant, FakeResponse):
            return grant
        with fake.lock:
            org = fake.state.orgs.get(request.params["id"])
        if org is None:
            return li_error(404, "Organization not found", "NOT_FOUND")
        return FakeResponse(
            200,
            {
                "id": int(request.params["id"]),
                "localizedName": org["localizedName"],
                "vanityName": org["vanityName"],
            },
        )

    @fake.route("GET", r"/rest/networkSizes/(?P<urn>[^/]+)")
    def network_size(request: FakeRequest) -> FakeResponse:
        grant = fake.rest(request)
        if isinstance(grant, FakeResponse):
            return grant
        urn = unquote(request.params["urn"])
        if request.query.get("edgeType") != "COMPANY_FOLLOWED_BY_MEMBER":
            return li_error(
                400, "edgeType must be COMPANY_FOLLOWED_BY_MEMBER for organizations", "ILLEGAL_ARGUMENT"
            )
        with fake.lock:
            org = fake.state.orgs.get(urn.rsplit(":", 1)[-1])
        if org is None:
            return li_error(404, "Organization not found", "NOT_FOUND")
        return FakeResponse(200, {"firstDegreeSize": org["followers"]})

    @fake.route("GET", "/rest/organizationalEntityShareStatistics")
    def share_statistics(request: FakeRequest) -> FakeResponse:
        grant = fake.rest(request)
        if isinstance(grant, FakeResponse):
            return grant
        org = request.query.get("organizationalEntity", "")
        if request.query.get("q") != "organizationalEntity" or not org.startswith("urn:li:organization:"):
            return li_error(
                400, "q=organizationalEntity and an organization URN are required", "ILLEGAL_ARGUMENT"
            )
        if "rw_organization_admin" not in grant.scopes or not fake.is_admin(grant.sub, org):
            return denied("organizationalEntityShareStatistics.FINDER-organizationalEntity")
        elements = []
        for param, field in (("shares", "share"), ("ugcPosts", "ugcPost")):
            value = request.query.get(param)
            if value is None:
                continue
            if not (value.startswith("List(") and value.endswith(")")):
                return li_error(400, f"{param} must be a Rest.li 2.0 List(...)", "ILLEGAL_ARGUMENT")
            for urn in filter(None, value[5:-1].split(",")):
                with fake.lock:
                    post = fake.state.posts.get(urn)
                if post is not None and post["author"] == org:
                    elements.append(
                        {"totalShareStatistics": _stats(fake, urn), "organizationalEntity": org, field: urn}
                    )
        return FakeResponse(200, _paged(elements))

    def member_count(grant: Grant, finder: str, entity: str, metric: str) -> FakeResponse | float:
        key = MEMBER_METRICS.get(metric)
        if key is None:
            return li_error(400, f"Invalid queryType {metric}", "ILLEGAL_ARGUMENT")
        me = f"urn:li:person:{grant.sub}"
        with fake.lock:
            mine = [u for u, p in fake.state.posts.items() if p["author"] == me]
        if finder == "me":
            return float(sum(_stats(fake, u)[key] for u in mine))
        match = ENTITY.match(entity)
        if not match or match.group(2) not in mine:
            return denied("memberCreatorPostAnalytics.FINDER-entity")
        return float(_stats(fake, match.group(2))[key])

    @fake.route("GET", "/rest/memberCreatorPostAnalytics")
    def member_analytics(request: FakeRequest) -> FakeResponse:
        grant = fake.rest(request)
        if isinstance(grant, FakeResponse):
            return grant
        if "r_member_postAnalytics" not in grant.scopes:
            return denied("memberCreatorPostAnalytics.FINDER")
        finder, metric = request.query.get("q", ""), request.query.get("queryType", "")
        if finder not in ("entity", "me"):
            return li_error(400, "Invalid finder", "ILLEGAL_ARGUMENT")
        count = member_count(grant, finder, request.query.get("entity", ""), metric)
        if isinstance(count, FakeResponse):
            return count
        element: dict[str, Any] = {"count": int(count), "metricType": metric}
        if finder == "entity":
            match = ENTITY.match(request.query.get("entity", ""))
            assert match is not None
            element["targetEntity"] = {match.group(1): match.group(2)}
        return FakeResponse(200, _paged([element]))

    @fake.route("GET", "/rest/memberFollowersCount")
    def member_followers(request: FakeRequest) -> FakeResponse:
        grant = fake.rest(request)
        if isinstance(grant, FakeResponse):
            return grant
        if "r_member_profileAnalytics" not in grant.scopes:
            return denied("memberFollowersCount.FINDER-me")
        if request.query.get("q") != "me":
            return li_error(400, "Invalid finder", "ILLEGAL_ARGUMENT")
        return FakeResponse(200, _paged([{"memberFollowersCount": fake.state.member_followers}]))
