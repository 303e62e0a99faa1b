"""Docs stay in step with the code: every hook is documented with its exact signature."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from ocma_core import hookspecs

DOCS = Path(__file__).resolve().parent.parent / "docs"
HOOKS = [name for name, fn in vars(hookspecs).items() if callable(fn) and hasattr(fn, "ocma_spec")]


def test_there_are_hooks() -> None:
    assert {
        "register_platforms",
        "register_ai_providers",
        "register_analyzers",
        "register_tools",
        "register_commands",
        "on_event",
    } <= set(HOOKS)


@pytest.mark.parametrize("name", HOOKS)
def test_hook_is_documented_with_its_signature(name: str) -> None:
    params = ", ".join(inspect.signature(getattr(hookspecs, name)).parameters)
    assert f"### {name}({params})" in (DOCS / "plugins.md").read_text()


def test_hooks_have_one_line_docstrings() -> None:
    for name in HOOKS:
        doc = getattr(hookspecs, name).__doc__ or ""
        assert doc and "\n" not in doc.strip(), name


def test_every_core_event_kind_is_documented() -> None:
    from ocma_core.events import KINDS

    text = (DOCS / "plugins.md").read_text()
    assert [kind for kind in KINDS if f"`{kind}`" not in text] == []
