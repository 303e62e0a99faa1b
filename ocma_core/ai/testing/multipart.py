"""Parsing multipart/form-data request bodies in fakes (standard library only)."""

from __future__ import annotations

from email.parser import BytesParser
from email.policy import HTTP


def form_fields(content_type: str, body: bytes) -> dict[str, str] | None:
    """The text fields of a multipart/form-data body, or None when it is not multipart."""
    if not content_type.lower().startswith("multipart/form-data"):
        return None
    message = BytesParser(policy=HTTP).parsebytes(
        f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1") + body
    )
    fields: dict[str, str] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if isinstance(name, str):
            payload = part.get_payload(decode=True)
            fields[name] = payload.decode("utf-8") if isinstance(payload, bytes) else ""
    return fields
