"""The core never imports a plugin, the agent or a bot (ARCHITECTURE: plugins use only ocma_core's public API)."""

from __future__ import annotations

import ast
import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _distributions_outside_core() -> set[str]:
    """Top-level package names of every workspace member (plugins, the agent, bots)."""
    names = set()
    for pyproject in ROOT.glob("*/**/pyproject.toml"):
        if ".venv" in pyproject.parts or "site-packages" in pyproject.parts:
            continue
        project = tomllib.loads(pyproject.read_text())["project"]["name"]
        names.add(project.replace("-", "_"))
    return names


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "import_module":
            first = node.args[0] if node.args else None
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                found.add(first.value.split(".")[0])
    return found


def test_workspace_members_are_found() -> None:
    outside = _distributions_outside_core()
    assert {"ocma_x", "ocma_litellm", "ocma_agent", "ocma_slack"} <= outside


def test_the_core_imports_no_plugin_agent_or_bot() -> None:
    outside = _distributions_outside_core()
    offenders = {
        str(path.relative_to(ROOT)): sorted(_imported_modules(path) & outside)
        for path in (ROOT / "ocma_core").rglob("*.py")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_the_core_names_no_bundled_plugin_module() -> None:
    """Not even as a string handed to importlib elsewhere."""
    pattern = re.compile(r"\b(" + "|".join(sorted(_distributions_outside_core())) + r")\b")
    named = [
        str(path.relative_to(ROOT))
        for path in (ROOT / "ocma_core").rglob("*.py")
        if pattern.search(path.read_text())
    ]
    assert named == []
