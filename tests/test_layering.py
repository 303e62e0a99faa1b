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


# ----- agent/, bots/ and plugins/ use only the core's public names ---------------------------------------------
# Public: `ocma_core`'s top-level exports, the app API `ocma_core.app` (and its areas), and these modules.
PUBLIC_MODULES = {
    "ocma_core",
    "ocma_core.errors",
    "ocma_core.permissions",
    "ocma_core.ai",
    "ocma_core.ai.http",  # helpers for AI provider plugins: one HTTP call with typed failures
    "ocma_core.ai.sizes",  # helpers for AI provider plugins: image sizes and ratios
    "ocma_core.net",
    "ocma_core.platforms",  # the Platform contract (also re-exported by `ocma_core`)
    "ocma_core.platforms.graph",  # helpers for Meta Graph platform plugins (errors, usage headers, webhooks)
    "ocma_core.when",  # reading the times people type (the CLI and the agent read them alike)
}
PUBLIC_PREFIXES = ("ocma_core.app", "ocma_core.testing", "ocma_core.ai.testing")


def _is_public(module: str) -> bool:
    return (
        module in PUBLIC_MODULES
        or module.startswith(tuple(p + "." for p in PUBLIC_PREFIXES))
        or module in PUBLIC_PREFIXES
    )


def _core_imports(path: Path) -> list[str]:
    """Every `ocma_core...` module this file imports (at any depth: lazy imports count too)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names if alias.name.startswith("ocma_core")]
        elif (
            isinstance(node, ast.ImportFrom)
            and node.level == 0
            and (node.module or "").startswith("ocma_core")
        ):
            for alias in node.names:  # `from ocma_core.platforms import graph` imports a (public) module
                submodule = f"{node.module}.{alias.name}"
                found.append(submodule if _is_public(submodule) else str(node.module))
    return found


def _shipped_sources() -> list[Path]:
    """The package code of agent/, bots/* and plugins/*/* (their tests may use internals as fixtures)."""
    members = [ROOT / "agent", *(ROOT / "bots").glob("*"), *(ROOT / "plugins").glob("*/*")]
    return [path for member in members for package in member.glob("ocma_*") for path in package.rglob("*.py")]


def private_imports(paths: list[Path]) -> dict[str, list[str]]:
    """file -> the non-public core modules it imports."""
    found = {
        str(p.relative_to(ROOT)): sorted({m for m in _core_imports(p) if not _is_public(m)}) for p in paths
    }
    return {k: v for k, v in found.items() if v}


def test_agent_bots_and_plugins_import_only_public_core_names() -> None:
    sources = _shipped_sources()
    assert len(sources) > 50
    assert private_imports(sources) == {}


def test_a_private_import_from_a_bot_is_caught() -> None:
    probe = ROOT / "bots" / "slack" / "ocma_slack" / "_layering_probe.py"
    probe.write_text("def f():\n    from ocma_core.services.posts import get_post\n    return get_post\n")
    try:
        assert private_imports(_shipped_sources()) == {
            "bots/slack/ocma_slack/_layering_probe.py": ["ocma_core.services.posts"]
        }
    finally:
        probe.unlink()


def test_the_public_app_api_names_exist() -> None:
    import importlib

    from ocma_core import app

    for area in app.AREAS:
        module = importlib.import_module(f"ocma_core.app.{area}")
        assert module.__all__ and all(hasattr(module, name) for name in module.__all__), area


# ----- no import cycles --------------------------------------------------------------------------------------------
def _module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _load_time_imports(path: Path, module: str, modules: set[str]) -> set[str]:
    """Modules imported when `module` is loaded: top-level imports, not those under TYPE_CHECKING or in
    functions (a lazy import runs later, when every module is loaded)."""
    is_package = path.name == "__init__.py"
    found: set[str] = set()

    def visit(nodes: list[ast.stmt]) -> None:
        for node in nodes:
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                visit(node.orelse)
            elif isinstance(node, ast.If | ast.Try | ast.With):
                visit(node.body)
                visit(getattr(node, "orelse", []))
                visit(getattr(node, "finalbody", []))
                for handler in getattr(node, "handlers", []):
                    visit(handler.body)
            elif isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    package = module.split(".") if is_package else module.split(".")[:-1]
                    base = ".".join(package[: len(package) - node.level + 1] + ([base] if base else []))
                submodules = {f"{base}.{alias.name}" for alias in node.names} & modules
                found.update(submodules or {base})

    visit(ast.parse(path.read_text()).body)
    return found & modules - {module}


def import_cycles(root: Path, package: str) -> list[list[str]]:
    """Groups of modules of `package` that import each other, directly or round a loop, when loaded."""
    paths = {_module_name(root, p): p for p in (root / package).rglob("*.py") if "versions" not in p.parts}
    graph = {m: _load_time_imports(p, m, set(paths)) for m, p in paths.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def strong(node: str) -> None:  # Tarjan's strongly connected components
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in graph[node]:
            if other not in index:
                strong(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            group = [stack.pop()]
            while group[-1] != node:
                group.append(stack.pop())
            if len(group) > 1:
                cycles.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            strong(node)
    return cycles


def test_the_core_agent_and_bots_have_no_import_cycles() -> None:
    """Load-time cycles only. Lazy imports inside functions still close loops (docs/reference.md lists them)."""
    assert import_cycles(ROOT, "ocma_core") == []
    assert import_cycles(ROOT / "agent", "ocma_agent") == []
    assert import_cycles(ROOT / "bots" / "slack", "ocma_slack") == []


def test_the_cycle_finder_finds_a_cycle(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "a.py").write_text("from pkg.b import x\n")
    (tmp_path / "pkg" / "b.py").write_text("from pkg import a\nx = 1\n")
    assert import_cycles(tmp_path, "pkg") == [["pkg.a", "pkg.b"]]
