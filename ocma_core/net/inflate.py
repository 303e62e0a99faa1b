"""Compressed answers decoded with a bound: an untrusted server's body never inflates past what is read.

httpx decodes each received chunk whole, so 64 KB of gzip can become 64 MB in memory before a size cap sees
it (a "compression bomb"). `BoundedDecoder` inflates at most one byte more than the caller's limit, however
the bytes are compressed; the caller reads the raw stream (`iter_raw`) and decodes it through one. Only the
encodings OCMA asks for (`ACCEPT_ENCODING`) are read; any other is refused by name.
"""

from __future__ import annotations

import zlib

from ocma_core.net.policy import FetchRefused

ACCEPT_ENCODING = "gzip, deflate"  # sent with every capped fetch: what BoundedDecoder reads
_KEEP_UNDECIDED = 65536
_WBITS = {"gzip": 16 + zlib.MAX_WBITS, "x-gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS}


class BoundedDecoder:
    """Decodes a body sent with `content_encoding`, producing at most `limit + 1` bytes in all (so a caller
    can tell "exactly at the limit" from "past it")."""

    def __init__(self, content_encoding: str, limit: int, url: str = "") -> None:
        codings = [c.strip().lower() for c in content_encoding.split(",") if c.strip()]
        codings = [c for c in codings if c != "identity"]
        if len(codings) > 1 or (codings and codings[0] not in _WBITS):
            raise FetchRefused(
                f"{url[:200]} answered in a content encoding OCMA does not read ({content_encoding[:50]}); "
                f"it asks for {ACCEPT_ENCODING} or none."
            )
        self.coding = codings[0] if codings else ""
        self.limit, self.produced = limit, 0
        self._inflate = zlib.decompressobj(_WBITS[self.coding]) if self.coding else None
        # deflate comes with the zlib header or without it (raw): until it has decoded, the bytes are kept
        # so that they can be read again as raw deflate
        self._undecided: bytearray | None = bytearray() if self.coding == "deflate" else None
        self._url = url

    @property
    def past_limit(self) -> bool:
        """More than `limit` bytes came out: the caller stops reading."""
        return self.produced > self.limit

    def decode(self, data: bytes) -> bytes:
        """The decoded bytes of the next raw chunk (fewer, and nothing more ever, once past the limit)."""
        room = max(self.limit + 1 - self.produced, 0)
        out = data[:room] if self._inflate is None else self._inflated(data)
        self.produced += len(out)
        return out

    def _inflated(self, data: bytes) -> bytes:
        if self._undecided is not None:
            self._undecided += data
            if len(self._undecided) > _KEEP_UNDECIDED:  # no output yet from this much: not kept any longer
                self._undecided = None
        try:
            out = self._bounded(data)
        except zlib.error as exc:
            if self._undecided is None:
                raise FetchRefused(f"{self._url[:200]} sent a body that does not decode: {exc}.") from None
            seen, self._undecided = bytes(self._undecided), None
            self._inflate = zlib.decompressobj(-zlib.MAX_WBITS)  # raw deflate, without the zlib header
            return self._inflated(seen)
        if out:
            self._undecided = None
        return out

    def _bounded(self, data: bytes) -> bytes:
        assert self._inflate is not None
        out, pending = bytearray(), data
        while pending:
            room = self.limit + 1 - self.produced - len(out)
            if room <= 0:  # zlib reads max_length 0 as "no limit": never pass it
                break
            piece = self._inflate.decompress(pending, room)
            out += piece
            pending = self._inflate.unconsumed_tail
            if not piece:
                break
        return bytes(out)
