"""Advice naming an HTTP route belongs to the API alone: the general `fix` is shown by the CLI, Slack and
the agent too, so a route there is advice a person at a terminal cannot follow. Routes go in `fixes["api"]`.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SOURCES = sorted(
    p
    for pattern in (
        "ocma_core/**/*.py",
        "agent/ocma_agent/**/*.py",
        "bots/*/ocma_*/**/*.py",
        "plugins/*/*/ocma_*/**/*.py",
    )
    for p in ROOT.glob(pattern)
    if "testing" not in p.parts
)
ROUTE = re.compile(r"\b(GET|POST|PUT|PATCH|DELETE) /|/v1/")


def _text(node: ast.AST) -> str:
    """The literal text of a string expression (f-string parts and concatenations included)."""
    return "".join(
        n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str)
    )


def _leaks(source: str, where: str) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call):
            for keyword in node.keywords:
                if keyword.arg == "fix" and ROUTE.search(_text(keyword.value)):
                    found.append(f"{where}:{keyword.value.lineno}: {_text(keyword.value)[:80]!r}")
    return found


def test_sources_are_found() -> None:
    assert len(SOURCES) > 100


def test_no_general_fix_names_an_http_route() -> None:
    leaks = [leak for p in SOURCES for leak in _leaks(p.read_text("utf-8"), str(p.relative_to(ROOT)))]
    assert not leaks, (
        "put the route in fixes={'api': ...} and give fix= surface-neutral advice:\n" + "\n".join(leaks)
    )


@pytest.mark.parametrize(
    ("source", "leaks"),
    [
        ('raise NotFoundError("No post.", fix="List posts with GET /v1/posts.")', True),
        ('raise NotFoundError("No post.", fix=f"Open /v1/posts/{post_id}.")', True),
        ('raise NotFoundError("No post.", fix="List them.", fixes={"api": "GET /v1/posts"})', False),
    ],
)
def test_the_check_itself(source: str, leaks: bool) -> None:
    assert bool(_leaks(source, "sample.py")) is leaks
