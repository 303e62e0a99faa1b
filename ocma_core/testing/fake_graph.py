"""For fakes of Meta Graph APIs (Facebook, Instagram, Threads): what every one answers with: Meta's error envelope and the parameters of a request.

Graph takes parameters in the query string, an urlencoded form or a multipart body (file uploads), and
answers errors as `{"error": {message, type, code, error_subcode?, fbtrace_id}}`.
"""

from __future__ import annotations

import secrets
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any

from ocma_core.testing import FakeRequest, FakeResponse


def graph_error(
    message: str,
    code: int,
    subcode: int | None = None,
    status: int = 400,
    kind: str = "OAuthException",
    headers: dict[str, str] | None = None,
    **more: Any,
) -> FakeResponse:
    """Meta's error envelope."""
    error: dict[str, Any] = {"message": message, "type": kind, "code": code}
    if subcode is not None:
        error["error_subcode"] = subcode
    error.update(more)
    error["fbtrace_id"] = "A" + secrets.token_hex(8)
    return FakeResponse(status, {"error": error}, headers or {})


def multipart(request: FakeRequest) -> tuple[dict[str, str], dict[str, tuple[str, bytes]]]:
    """The fields and files (name -> (content type, bytes)) of a multipart/form-data body."""
    head = f"Content-Type: {request.header('content-type')}\r\n\r\n".encode()
    message = BytesParser(policy=HTTP).parsebytes(head + request.body)
    fields: dict[str, str] = {}
    files: dict[str, tuple[str, bytes]] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        found = part.get_payload(decode=True)
        payload = found if isinstance(found, bytes) else b""
        if not isinstance(name, str):
            continue
        if part.get_param("filename", header="content-disposition"):
            files[name] = (part.get_content_type(), payload)
        else:
            fields[name] = payload.decode("utf-8")
    return fields, files


def params(request: FakeRequest) -> dict[str, str]:
    """Query, urlencoded-form and multipart fields of a request, merged (the body wins)."""
    merged = dict(request.query)
    kind = request.header("content-type")
    if kind.startswith("application/x-www-form-urlencoded"):
        merged.update(request.form())
    elif kind.startswith("multipart/form-data"):
        merged.update(multipart(request)[0])
    return merged
