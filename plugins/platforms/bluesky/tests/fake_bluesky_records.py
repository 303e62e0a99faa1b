"""Record validation for the fake PDS: app.bsky.feed.post as the lexicons define it, plus facet checks.

The lexicon rules (required fields, 300 graphemes / 3,000 bytes, ≤3 langs, ≤4 images, blob sizes, aspect
ratios, strongRefs) are what a real PDS enforces. The facet checks (byte offsets on character boundaries,
the slice showing the @handle / #tag / link it annotates) and the existence checks of reply targets and
blobs are stricter than the PDS, which would store such a record and let the AppView render it wrongly.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import regex

GRAPHEMES = regex.compile(r"\X")
FACET = "app.bsky.richtext.facet"


def graphemes(text: str) -> int:
    """Extended grapheme clusters."""
    return len(GRAPHEMES.findall(text))


class RecordError(ValueError):
    """A record the fake refuses, with the PDS-style message."""


def _fail(path: str, message: str) -> RecordError:
    return RecordError(f"Invalid app.bsky.feed.post record: Record/{path} {message}")


def check_post(
    record: Any,
    *,
    blob_of: Any,
    record_cid: Any,
    handle_did: Any,
) -> None:
    """Raise RecordError when `record` is not a valid post; the callables look up blobs, records, handles."""
    if not isinstance(record, dict):
        raise RecordError("Invalid app.bsky.feed.post record: Record must be an object")
    if record.get("$type") != "app.bsky.feed.post":
        raise RecordError("Invalid $type: must be app.bsky.feed.post")
    text = record.get("text")
    if not isinstance(text, str):
        raise _fail("text", "must be a string")
    if len(text.encode("utf-8")) > 3000:
        raise _fail("text", "must not be longer than 3000 characters")
    if graphemes(text) > 300:
        raise _fail("text", "must not be longer than 300 graphemes")
    created = record.get("createdAt")
    try:
        datetime.fromisoformat(str(created).replace("Z", "+00:00"))
    except ValueError:
        raise _fail("createdAt", "must be an valid atproto datetime") from None
    langs = record.get("langs")
    if langs is not None and (not isinstance(langs, list) or len(langs) > 3):
        raise _fail("langs", "must not have more than 3 elements")
    tags = record.get("tags")
    if tags is not None and (not isinstance(tags, list) or len(tags) > 8):
        raise _fail("tags", "must not have more than 8 elements")
    for index, facet in enumerate(record.get("facets") or []):
        _check_facet(text, facet, index, handle_did)
    if "reply" in record:
        _check_reply(record["reply"], record_cid)
    if "embed" in record:
        _check_embed(record["embed"], blob_of)


def _check_facet(text: str, facet: Any, index: int, handle_did: Any) -> None:
    where = f"facets/{index}"
    data = text.encode("utf-8")
    slice_ = facet.get("index") if isinstance(facet, dict) else None
    if not isinstance(slice_, dict):
        raise _fail(f"{where}/index", "must be an object")
    start, end = slice_.get("byteStart"), slice_.get("byteEnd")
    if not isinstance(start, int) or not isinstance(end, int) or not 0 <= start < end <= len(data):
        raise _fail(f"{where}/index", f"byte range {start}..{end} is outside the {len(data)}-byte text")
    try:
        shown = data[start:end].decode("utf-8")
    except UnicodeDecodeError:
        raise _fail(f"{where}/index", "does not fall on UTF-8 character boundaries") from None
    features = facet.get("features")
    if not isinstance(features, list) or not features:
        raise _fail(f"{where}/features", "must be a non-empty array")
    for feature in features:
        kind = feature.get("$type") if isinstance(feature, dict) else None
        if kind == f"{FACET}#mention":
            did = feature.get("did")
            if not isinstance(did, str) or not did.startswith("did:"):
                raise _fail(f"{where}/features", "mention did must be a DID")
            if not shown.startswith("@") or handle_did(shown[1:]) != did:
                raise _fail(f"{where}/index", f"covers {shown!r}, not the @handle of {did}")
        elif kind == f"{FACET}#link":
            uri = feature.get("uri")
            if not isinstance(uri, str) or not uri.startswith(("http://", "https://")):
                raise _fail(f"{where}/features", "link uri must be a URI")
            if shown.rstrip("…") not in uri:
                raise _fail(f"{where}/index", f"covers {shown!r}, which is not the link {uri}")
        elif kind == f"{FACET}#tag":
            tag = feature.get("tag")
            if not isinstance(tag, str) or graphemes(tag) > 64 or len(tag.encode()) > 640:
                raise _fail(f"{where}/features", "tag must be at most 64 graphemes")
            if shown[1:] != tag or shown[:1] not in ("#", "\uff03"):
                raise _fail(f"{where}/index", f"covers {shown!r}, not #{tag}")
        else:
            raise _fail(f"{where}/features", f"unknown facet feature {kind!r}")


def _check_ref(ref: Any, path: str, record_cid: Any) -> None:
    if (
        not isinstance(ref, dict)
        or not isinstance(ref.get("uri"), str)
        or not isinstance(ref.get("cid"), str)
    ):
        raise _fail(path, "must be a strongRef {uri, cid}")
    if record_cid(ref["uri"]) != ref["cid"]:
        raise _fail(path, f"refers to {ref['uri']} / {ref['cid']}, which does not exist")


def _check_reply(reply: Any, record_cid: Any) -> None:
    if not isinstance(reply, dict):
        raise _fail("reply", "must be an object")
    _check_ref(reply.get("root"), "reply/root", record_cid)
    _check_ref(reply.get("parent"), "reply/parent", record_cid)


def _check_blob(blob: Any, path: str, max_size: int, blob_of: Any) -> None:
    if not isinstance(blob, dict) or blob.get("$type") != "blob" or not isinstance(blob.get("ref"), dict):
        raise _fail(path, "must be a blob")
    stored = blob_of(blob["ref"].get("$link"))
    if stored is None:
        raise _fail(path, "refers to a blob that was not uploaded")
    if not str(blob.get("mimeType", "")).startswith("image/") or blob.get("mimeType") != stored["mimeType"]:
        raise _fail(path, "mimeType must be image/* and match the upload")
    if blob.get("size") != stored["size"] or stored["size"] > max_size:
        raise _fail(path, f"file too large (max {max_size} bytes) or size mismatch")


def _check_embed(embed: Any, blob_of: Any) -> None:
    kind = embed.get("$type") if isinstance(embed, dict) else None
    if kind == "app.bsky.embed.images":
        images = embed.get("images")
        if not isinstance(images, list) or not 1 <= len(images) <= 4:
            raise _fail("embed/images", "must have 1 to 4 elements")
        for i, image in enumerate(images):
            if not isinstance(image, dict) or not isinstance(image.get("alt"), str):
                raise _fail(f"embed/images/{i}", 'must have the property "alt"')
            _check_blob(image.get("image"), f"embed/images/{i}/image", 2_000_000, blob_of)
            ratio = image.get("aspectRatio")
            if ratio is not None and not (
                isinstance(ratio, dict)
                and all(isinstance(ratio.get(k), int) and ratio[k] >= 1 for k in ("width", "height"))
            ):
                raise _fail(f"embed/images/{i}/aspectRatio", "width and height must be integers >= 1")
    elif kind == "app.bsky.embed.external":
        external = embed.get("external")
        if not isinstance(external, dict) or not all(
            isinstance(external.get(k), str) for k in ("uri", "title", "description")
        ):
            raise _fail("embed/external", "must have uri, title and description strings")
        if "thumb" in external:
            _check_blob(external["thumb"], "embed/external/thumb", 1_000_000, blob_of)
    else:
        raise _fail("embed", f"has an unsupported $type {kind!r}")
