"""Finding "one request freezes the server": text parsers run in linear time on adversarial input (X's URL
extractor on RE2, one search per URL found), property tests feed every text parser hostile input, and the CSV
import is capped and runs off the event loop."""

from __future__ import annotations

import asyncio
import itertools
import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ocma_core.content import measures
from ocma_core.context import Ocma

X_UNITS = [
    "a",
    ".",
    "a.",
    "com",
    ".com",
    "xn--p1ai",
    "-",
    "_",
    "/",
    "?",
    ":",
    "@",
    "#",
    "(",
    ")",
    "é",
    "рф",
    "http://",
    "https://",
    "t.co/",
    " ",
    "!",
    "\u202a",
    "1",
    "\uff21",
]
HOSTILE = st.lists(st.sampled_from(X_UNITS), min_size=1, max_size=12).flatmap(
    lambda unit: st.integers(min_value=1, max_value=1500).map(lambda k: "".join(unit) * k)
)
SHORT = st.lists(st.sampled_from(X_UNITS), max_size=14).map("".join)
PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _x_urls() -> Any:
    from ocma_x import urls

    return urls


class _CountingPattern:
    """Counts the extractor's searches (the steps of the extraction loop)."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.searches = inner, 0
        self.groupindex = inner.groupindex

    def search(self, *args: Any) -> Any:
        self.searches += 1
        return self.inner.search(*args)


def test_the_x_extractor_runs_on_a_linear_time_engine() -> None:
    extract = _x_urls()._patterns()[0]
    assert type(extract).__module__.startswith("re2"), "backtracking regex engines are quadratic here"


@pytest.mark.parametrize(
    "text", ["a." * 1200, "a." * 20_000, "x.com!" * 3000, "http://" + "a-" * 5000 + ".com"]
)
def test_x_extraction_takes_one_search_per_url(monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    urls = _x_urls()
    counting = _CountingPattern(urls._patterns()[0])
    rest = urls._patterns()[1:]
    monkeypatch.setattr(urls, "_patterns", lambda: (counting, *rest))
    found = urls.extract_urls(text)
    assert counting.searches <= len(found) + 1
    assert all(text[u.start : u.end] == u.url for u in found)


def _oracle(text: str) -> list[tuple[str, int, int]]:
    """twitter-text's pattern as written (with its look-ahead) on Python's backtracking engine: a reference
    for short texts only."""
    urls = _x_urls()
    tld = f"(?:(?:{urls._tld_alternation()})(?=[^0-9a-zA-Z@+-]|$))"
    domain = f"(?:{urls._SUBDOMAIN}*{urls._DOMAIN_NAME}(?:{tld}|{urls._PUNYCODE}))"
    extract = re.compile(
        f"({urls._PRECEDING})((https?://)?({domain})(?::([0-9]+))?(/{urls._PATH}*)?"
        f"(\\?{urls._QUERY_CHAR}*{urls._QUERY_END})?)",
        re.IGNORECASE,
    )
    _, ascii_domain, tco = urls._patterns()
    found = []
    for match in extract.finditer(text):
        before, url, protocol, host, path = (match.group(i) or "" for i in (1, 2, 3, 4, 6))
        start, end = match.start(2), match.end(2)
        if not urls._valid_length(url, protocol or urls.DEFAULT_PROTOCOL, host, ascii_domain):
            continue
        if protocol:
            t = tco.match(url)
            if t:
                if len(t.group(1)) > urls.MAX_TCO_SLUG_LENGTH:
                    continue
                url, end = t.group(0), start + len(t.group(0))
            found.append((url, start, end))
            continue
        if urls._NO_PROTOCOL_BAD_BEFORE.search(before):
            continue
        entities = [(m.group(0), start + m.start(), start + m.end()) for m in ascii_domain.finditer(host)]
        if entities and path:
            entities[-1] = (text[entities[-1][1] : end], entities[-1][1], end)
        found.extend(entities)
    return found


@PROPERTY
@given(SHORT)
def test_x_extraction_matches_twitter_texts_pattern(text: str) -> None:
    assert [(u.url, u.start, u.end) for u in _x_urls().extract_urls(text)] == _oracle(text)


@PROPERTY
@given(HOSTILE)
def test_x_counting_survives_hostile_text(text: str) -> None:
    from ocma_x.counting import parse_text

    assert parse_text(text).weighted_length >= 0


@PROPERTY
@given(HOSTILE)
def test_bluesky_facets_survive_hostile_text(text: str) -> None:
    from ocma_bluesky.richtext import detect

    spans = detect(text)
    assert all(0 <= s.start < s.end <= len(text) for s in spans)
    assert all(a.end <= b.start for a, b in itertools.pairwise(spans))


@pytest.mark.parametrize("text", ["#a" + "!" * 20_000 + "x", "#" + "1" * 20_000 + " ", " @" + "a." * 10_000])
def test_bluesky_tags_trim_punctuation_in_one_pass(text: str) -> None:
    from ocma_bluesky.richtext import detect, strip_trailing_punctuation

    assert strip_trailing_punctuation("tag!?…") == "tag"
    detect(text)


@PROPERTY
@given(HOSTILE)
def test_core_measures_survive_hostile_text(text: str) -> None:
    for tag in measures.hashtags(text):
        assert tag[1:] in text
    for mention in measures.mentions(text):
        assert mention[1:] in text
    for link in measures.links(text):
        assert link in text


@PROPERTY
@given(HOSTILE)
def test_linkedin_mentions_survive_hostile_text(text: str) -> None:
    from ocma_linkedin import text as li_text

    li_text.MENTION.findall(text)


# --- CSV import ---------------------------------------------------------------------------------------


def test_a_csv_over_the_row_cap_is_refused_whole(ocma: Ocma, workspace_id: str, account_id: str) -> None:
    from ocma_core.errors import ValidationFailed
    from ocma_core.services import posts
    from ocma_core.services.post_import import MAX_IMPORT_ROWS, import_csv

    rows = "".join(f"row {i},{account_id}\n" for i in range(MAX_IMPORT_ROWS + 1))
    with pytest.raises(ValidationFailed) as caught:
        import_csv(ocma, workspace_id, "body,accounts\n" + rows)
    assert f"more than {MAX_IMPORT_ROWS} rows" in caught.value.message
    assert posts.list_posts(ocma, workspace_id) == []


def test_csv_import_runs_off_the_event_loop(
    ocma: Ocma, workspace_id: str, account_id: str, fake: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fastapi.testclient import TestClient

    from ocma_core.api.app import create_app
    from ocma_core.db.models import Role
    from ocma_core.services import post_import
    from ocma_core.services.workspaces import create_api_key

    seen: list[bool] = []
    real = post_import.import_csv

    def spy(*args: Any, **kw: Any) -> Any:
        try:
            asyncio.get_running_loop()
            seen.append(True)
        except RuntimeError:
            seen.append(False)
        return real(*args, **kw)

    monkeypatch.setattr(post_import, "import_csv", spy)
    key = create_api_key(ocma, workspace_id, role=Role.EDITOR).key
    with TestClient(create_app(ocma, run_worker=False)) as client:
        answer = client.post(
            "/v1/posts/import",
            headers={"Authorization": f"Bearer {key}"},
            files={"file": ("p.csv", f"body,accounts\nhello,{account_id}\n", "text/csv")},
        )
        too_big = client.post(
            "/v1/posts/import",
            headers={"Authorization": f"Bearer {key}"},
            files={"file": ("p.csv", "body,accounts\n" + "x" * post_import.MAX_IMPORT_BYTES, "text/csv")},
        )
    assert answer.status_code == 200 and seen == [False]
    assert too_big.status_code == 422 and "larger than" in too_big.json()["detail"]
