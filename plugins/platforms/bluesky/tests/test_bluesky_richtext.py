"""Grapheme counting and facet detection with UTF-8 byte offsets (no network)."""

from __future__ import annotations

import struct
import zlib

from ocma_bluesky.media import image_size
from ocma_bluesky.richtext import count_graphemes, detect, first_link, utf8_length


def _slices(text: str) -> list[tuple[str, str, str]]:
    data = text.encode("utf-8")
    out = []
    for span in detect(text):
        start = len(text[: span.start].encode("utf-8"))
        end = len(text[: span.end].encode("utf-8"))
        out.append((span.kind, span.value, data[start:end].decode("utf-8")))
    return out


def test_graphemes_count_clusters_not_code_points() -> None:
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466"
    assert count_graphemes(family) == 1 and len(family) == 7
    assert count_graphemes("e\u0301") == 1  # e + combining acute
    assert count_graphemes("\U0001f1e9\U0001f1ea") == 1  # flag: two regional indicators
    assert count_graphemes("abc") == 3
    assert utf8_length(family) == 25


def test_facets_after_emoji_and_umlauts_use_byte_offsets() -> None:
    text = "Grüße 👋🏽 @alice.bsky.social: see https://example.com/a?b=ü. #Tëst 🚀"
    assert _slices(text) == [
        ("mention", "alice.bsky.social", "@alice.bsky.social"),
        ("link", "https://example.com/a?b=ü", "https://example.com/a?b=ü"),
        ("tag", "Tëst", "#Tëst"),
    ]
    mention = detect(text)[0]
    # "Grüße " is 8 bytes (ü and ß are 2 each), 👋🏽 is 8 bytes, then a space: the @ starts at byte 17.
    assert len(text[: mention.start].encode("utf-8")) == 17


def test_link_trailing_punctuation_and_parentheses() -> None:
    assert _slices("(see https://example.com/x)")[0][1] == "https://example.com/x"
    assert (
        _slices("wiki https://en.wikipedia.org/wiki/Foo_(bar)")[0][1]
        == "https://en.wikipedia.org/wiki/Foo_(bar)"
    )
    assert _slices("Done: https://example.com!")[0][1] == "https://example.com"
    assert first_link("no links here") is None


def test_hashtag_rules() -> None:
    assert _slices("#123 is a number, #tag! is a tag, mid#word is not")[0][:2] == ("tag", "tag")
    assert len(detect("#123")) == 0
    assert len(detect("#" + "a" * 65)) == 0  # more than 64 graphemes
    assert detect("#" + "a" * 64)[0].value == "a" * 64
    assert _slices("full-width \uff03タグ")[0][2] == "\uff03タグ"


def test_mentions_need_a_domain_handle() -> None:
    assert detect("mail @bob please") == []  # not a handle: no dot
    assert detect("email me at bob@example.com") == []  # not preceded by space
    assert _slices("cc @Bob.Example.com.")[0][1] == "bob.example.com"


def _png(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = b"".join(b"\x00" + b"\x00\x00\x00" * width for _ in range(height))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
    )


def test_image_size_from_headers() -> None:
    assert image_size(_png(40, 30)) == (40, 30)
    gif = b"GIF89a" + struct.pack("<HH", 7, 5) + b"\x00" * 10
    assert image_size(gif) == (7, 5)
    jpeg = (
        b"\xff\xd8"
        + b"\xff\xe0"
        + struct.pack(">H", 4)
        + b"\x00\x00"
        + b"\xff\xc0"
        + struct.pack(">HBHH", 11, 8, 480, 640)
        + b"\x00" * 8
    )
    assert image_size(jpeg) == (640, 480)
    assert image_size(b"not an image") is None
