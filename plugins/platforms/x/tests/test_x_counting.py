"""The weighted length counter passes every weighted-length case of twitter-text's conformance suite."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from fake_x_spec import spec_path
from ocma_x import XPlatform
from ocma_x.counting import CONFIG_V3, TextConfig, parse_text, weighted_length
from ocma_x.emoji import extract_emoji
from ocma_x.urls import extract_urls

from ocma_core import PostContent

SPECS = spec_path().parents[1] / "twitter-text"
GROUPS = {
    "WeightedTweetsCounterTest": "config-v2.json",
    "WeightedTweetsWithDiscountedEmojiCounterTest": "config-v3.json",
    "UnicodeDirectionalMarkerCounterTest": "config-v3.json",
}


def _suite() -> dict[str, Any]:
    return dict(yaml.safe_load((SPECS / "validate.yml").read_text(encoding="utf-8"))["tests"])


def _cases() -> list[Any]:
    suite = _suite()
    return [
        pytest.param(group, case, id=f"{group}:{index}:{case['description'][:40]}")
        for group in GROUPS
        for index, case in enumerate(suite[group])
    ]


def _config(group: str) -> TextConfig:
    return TextConfig.from_json(json.loads((SPECS / GROUPS[group]).read_text(encoding="utf-8")))


@pytest.mark.parametrize(("group", "case"), _cases())
def test_conformance_case(group: str, case: dict[str, Any]) -> None:
    """weightedLength, valid, permillage and both ranges match the suite exactly."""
    result = parse_text(case["text"], _config(group))
    got = {
        "weightedLength": result.weighted_length,
        "valid": result.valid,
        "permillage": result.permillage,
        "displayRangeStart": result.display_range_start,
        "displayRangeEnd": result.display_range_end,
        "validRangeStart": result.valid_range_start,
        "validRangeEnd": result.valid_range_end,
    }
    assert got == case["expected"]


def test_suite_groups_are_not_empty() -> None:
    """The suite file is there and both required groups have cases (a missing file fails, not skips)."""
    suite = _suite()
    assert len(suite["WeightedTweetsCounterTest"]) >= 20
    assert len(suite["WeightedTweetsWithDiscountedEmojiCounterTest"]) >= 20


def test_product_config_is_v3() -> None:
    """The built-in configuration equals twitter-text's config v3 file."""
    assert _config("WeightedTweetsWithDiscountedEmojiCounterTest") == CONFIG_V3


@pytest.mark.parametrize("case", _suite()["urls_without_protocol"], ids=lambda c: c["text"])
def test_urls_without_protocol_are_links(case: dict[str, Any]) -> None:
    """Each of the suite's protocol-less URLs is detected whole."""
    urls = extract_urls(case["text"])
    assert [(u.start, u.end) for u in urls] == [(0, len(case["text"]))]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("\u00a9 2026", 6),  # (c) alone is a text character (weight 1)
        ("\u00a9\ufe0f 2026", 7),  # with VS16 it is an emoji (weight 2)
        ("#\ufe0f\u20e3", 2),  # keycap
        ("\U0001f1e9\U0001f1ea", 2),  # flag
        ("\U0001f3f3\ufe0f\u200d\U0001f308", 2),  # ZWJ sequence with VS16
        ("file.txt and notes.md", 21),  # .txt is no TLD; .md is, so notes.md counts 23
    ],
)
def test_v3_details(text: str, expected: int) -> None:
    """Emoji sequences count 2, text-default symbols need VS16, only real TLDs make links."""
    if text.startswith("file"):
        expected = len("file.txt and ") + 23
    assert weighted_length(text) == expected


def test_emoji_entities() -> None:
    """Sequences are found with their offsets."""
    found = extract_emoji("a\U0001f9d5\U0001f3fe b")
    assert [(e.start, e.end) for e in found] == [(1, 3)]


def test_validate_uses_weighted_length() -> None:
    """140 emoji fit, 141 do not; a long URL counts 23."""
    platform = XPlatform(env={})
    fits = PostContent(text="\U0001f637" * 140)
    over = PostContent(text="\U0001f637" * 141)
    assert not [p for p in platform.validate(fits) if p.code == "too_long"]
    assert [p for p in platform.validate(over) if p.code == "too_long"]
    url = "https://example.com/" + "a" * 400
    assert platform.limits.text.count(f"{'x' * 250} {url}") == 250 + 1 + 23


def test_spec_dir_is_found() -> None:
    """The shared specs this suite reads exist."""
    assert Path(SPECS / "validate.yml").exists()


def test_invalid_characters_are_a_problem() -> None:
    """U+FFFF makes twitter-text (and X) refuse a text of valid length."""
    problems = XPlatform(env={}).validate(PostContent(text="ok \uffff"))
    assert [p.code for p in problems] == ["invalid_characters"]
    assert not XPlatform(env={}).validate(PostContent(text="ok"))
