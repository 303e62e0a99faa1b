"""The little-format escaping of post commentary, checked alone and against the fake's reading of it."""

from __future__ import annotations

import pytest
from fake_linkedin import FakeLinkedIn
from linkedin_testkit import connect, run
from ocma_linkedin import LinkedInPlatform
from ocma_linkedin.text import escape_commentary, first_unescaped_reserved, unescape_commentary

from ocma_core import PostContent


@pytest.mark.parametrize("char", list("()[]{}<>@|~_*\\"))
def test_each_reserved_character_is_escaped(char: str) -> None:
    assert escape_commentary(f"a{char}b") == f"a\\{char}b"
    assert unescape_commentary(escape_commentary(f"a{char}b")) == f"a{char}b"


def test_plain_text_and_hashtags_are_untouched() -> None:
    text = "Shipping v2.0 today! #release #python — 100% done, naïve café 👍"
    assert escape_commentary(text) == text


def test_realistic_sentence() -> None:
    text = "Launch (beta) at 10:00 <UTC> by @ada_lovelace: *bold* ~claims~ [docs] {json} a|b C:\\dir"
    escaped = escape_commentary(text)
    assert escaped == (
        "Launch \\(beta\\) at 10:00 \\<UTC\\> by \\@ada\\_lovelace: \\*bold\\* \\~claims\\~ "
        "\\[docs\\] \\{json\\} a\\|b C:\\\\dir"
    )
    assert first_unescaped_reserved(escaped) is None
    assert unescape_commentary(escaped) == text


def test_mentions_stay_markup() -> None:
    text = "Thanks @[Devtestco](urn:li:organization:2414183) and @[Ada](urn:li:person:782bbtaQ) (really)!"
    escaped = escape_commentary(text)
    assert "@[Devtestco](urn:li:organization:2414183)" in escaped
    assert "@[Ada](urn:li:person:782bbtaQ)" in escaped
    assert escaped.endswith("\\(really\\)!")
    assert escape_commentary(text, keep_mentions=False).startswith("Thanks \\@\\[Devtestco\\]")


def test_unescaped_commentary_would_be_cut_where_linkedin_cuts() -> None:
    assert first_unescaped_reserved("Hello (world)") == 6
    assert first_unescaped_reserved("Hi @[A](urn:li:person:1) ok") is None


def test_published_text_arrives_whole(linkedin: LinkedInPlatform, fake_linkedin: FakeLinkedIn) -> None:
    ctx = connect(linkedin, fake_linkedin)
    text = "Release notes (v3): fixed [bug] in <parser> for user_names with *stars* & ~tildes~ | \\o/ @team"
    run(linkedin.publish(ctx, PostContent(text=text)))
    assert fake_linkedin.published_texts() == [text]
    assert fake_linkedin.state.truncated == []


def test_without_escaping_linkedin_truncates(fake_linkedin: FakeLinkedIn, linkedin: LinkedInPlatform) -> None:
    """Why the escaping matters: the fake, like LinkedIn, cuts raw commentary at the first reserved char."""
    ctx = connect(linkedin, fake_linkedin)
    original = linkedin.post_body

    def raw_body(author: str, content: PostContent, media: dict[str, object]) -> dict[str, object]:
        body: dict[str, object] = original(author, content, media)
        body["commentary"] = content.text
        return body

    linkedin.post_body = raw_body
    run(linkedin.publish(ctx, PostContent(text="Big news (finally) today")))
    assert fake_linkedin.published_texts() == ["Big news "]
