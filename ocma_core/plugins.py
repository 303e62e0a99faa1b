"""Plugin loading: entry points of group `ocma`, allow/deny lists, and error isolation."""

from __future__ import annotations

import importlib
import os
import threading
import traceback
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

import pluggy

from ocma_core import hookspecs

ENTRY_POINT_GROUP = "ocma"
# Built-in features register through the same hooks as third-party plugins.
DEFAULT_PLUGINS: tuple[str, ...] = ("ocma_core.analytics.builtin_analyzers",)


@dataclass
class PluginInfo:
    """What `ocma plugins` shows about one plugin."""

    name: str
    distribution: str | None = None
    version: str | None = None
    hooks: list[str] = field(default_factory=list)
    registered: dict[str, list[str]] = field(default_factory=dict)
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "name": self.name,
            "distribution": self.distribution,
            "version": self.version,
            "hooks": sorted(self.hooks),
            "registered": self.registered,
            "error": self.error,
        }


class PluginHost:
    """A pluggy manager plus what was loaded, what failed, and what each plugin registered."""

    def __init__(self) -> None:
        self.pm = pluggy.PluginManager("ocma")
        self.pm.add_hookspecs(hookspecs)
        self.infos: dict[str, PluginInfo] = {}
        self.errors: list[PluginInfo] = []

    def register(self, plugin: object, name: str, *, distribution: str | None = None) -> bool:
        """Register one plugin object; a broken one is recorded as an error instead of raising."""
        version = None
        if distribution:
            try:
                version = metadata.version(distribution)
            except metadata.PackageNotFoundError:
                version = None
        info = PluginInfo(name=name, distribution=distribution, version=version)
        try:
            self.pm.register(plugin, name=name)
        except Exception as exc:  # pluggy raises PluginValidationError and ValueError
            info.error = f"could not register: {exc}"
            self.errors.append(info)
            return False
        try:
            self.pm.check_pending()
        except pluggy.PluginValidationError as exc:
            self.pm.unregister(plugin)
            info.error = f"{exc} (a misspelled hook name? see docs/plugins.md)"
            self.errors.append(info)
            return False
        info.hooks = [caller.name for caller in self.pm.get_hookcallers(plugin) or []]
        self.infos[name] = info
        return True

    def record_registration(self, plugin_name: str, kind: str, item: str) -> None:
        """Remember that `plugin_name` registered `item` of `kind` (for `ocma plugins`)."""
        info = self.infos.get(plugin_name)
        if info is not None:
            items = info.registered.setdefault(kind, [])
            if item not in items:  # registries are rebuilt after a reset; list each item once
                items.append(item)

    def record_failure(self, plugin_name: str, what: str, exc: BaseException) -> None:
        """Record that a plugin's hook raised, without stopping anything else."""
        info = self.infos.get(plugin_name) or PluginInfo(name=plugin_name)
        detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        info.error = f"{what} failed: {detail}"
        if info not in self.errors:
            self.errors.append(info)

    def call_each(self, hook_name: str, kind: str, make_register: Any) -> None:
        """Call `hook_name` on each plugin separately, so errors and registrations are attributed."""
        caller = getattr(self.pm.hook, hook_name)
        for impl in caller.get_hookimpls():
            register = make_register(impl.plugin_name)
            try:
                impl.function(register=register)
            except Exception as exc:
                if os.environ.get("OCMA_RAISE_ERRORS"):
                    raise
                self.record_failure(impl.plugin_name, hook_name, exc)


def _split(value: str | None) -> set[str]:
    return {part.strip() for part in (value or "").split(",") if part.strip()}


def load_plugins(host: PluginHost, env: dict[str, str] | None = None) -> PluginHost:
    """Register built-ins, then entry points, honouring OCMA_LOAD_PLUGINS and OCMA_DISABLED_PLUGINS."""
    env = dict(os.environ) if env is None else env
    disabled = _split(env.get("OCMA_DISABLED_PLUGINS"))
    allow = _split(env["OCMA_LOAD_PLUGINS"]) if "OCMA_LOAD_PLUGINS" in env else None
    for module_name in DEFAULT_PLUGINS:
        short = module_name.rsplit(".", 1)[-1]
        if short not in disabled:
            host.register(importlib.import_module(module_name), name=short, distribution="ocma")
    for module_name in sorted(_split(env.get("OCMA_PLUGIN_MODULES"))):
        # One-off plugins by module name (no packaging needed), like datasette's --plugins-dir.
        if module_name in disabled or host.pm.has_plugin(module_name):
            continue
        try:
            module = importlib.import_module(module_name)
        except Exception as exc:
            detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
            host.errors.append(
                PluginInfo(name=module_name, error=f"could not import {module_name}: {detail}")
            )
            continue
        host.register(module, name=module_name)
    for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
        dist_name = ep.dist.name if ep.dist is not None else None
        names = {ep.name, dist_name} - {None}
        if allow is not None and not names & allow:
            continue
        if names & disabled:
            host.pm.set_blocked(ep.name)
            continue
        if host.pm.has_plugin(ep.name) or host.pm.is_blocked(ep.name):
            continue
        try:
            plugin = ep.load()
        except Exception as exc:
            if env.get("OCMA_RAISE_ERRORS"):
                raise
            detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
            host.errors.append(
                PluginInfo(
                    name=ep.name,
                    distribution=dist_name,
                    version=ep.dist.version if ep.dist is not None else None,
                    error=f"could not import {ep.value}: {detail}",
                )
            )
            continue
        host.register(plugin, name=ep.name, distribution=dist_name)
    return host


COMMANDS_GROUP = "ocma.commands"


def command_entry_points(env: dict[str, str] | None = None) -> dict[str, metadata.EntryPoint]:
    """Plugin commands declared in the `ocma.commands` entry point group (name -> "module:command"), found
    without importing any plugin, so `ocma --help` and built-in commands stay fast. A distribution disabled
    (or not allowed) by OCMA_DISABLED_PLUGINS / OCMA_LOAD_PLUGINS contributes no commands."""
    env = dict(os.environ) if env is None else env
    disabled = _split(env.get("OCMA_DISABLED_PLUGINS"))
    allow = _split(env["OCMA_LOAD_PLUGINS"]) if "OCMA_LOAD_PLUGINS" in env else None
    plugin_names: dict[str, set[str]] = {}
    for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
        if ep.dist is not None:
            plugin_names.setdefault(ep.dist.name, set()).add(ep.name)
    found: dict[str, metadata.EntryPoint] = {}
    for ep in metadata.entry_points(group=COMMANDS_GROUP):
        dist_name = ep.dist.name if ep.dist is not None else ""
        names = plugin_names.get(dist_name, set()) | {dist_name}
        if names & disabled or (allow is not None and not names & allow):
            continue
        found.setdefault(ep.name, ep)
    return found


_host: PluginHost | None = None
_lock = threading.Lock()


def get_host() -> PluginHost:
    """The process-wide plugin host, loaded on first use."""
    global _host
    with _lock:
        if _host is None:
            _host = load_plugins(PluginHost())
        return _host


def reset_host(host: PluginHost | None = None) -> None:
    """Replace the process-wide host (tests use this to load a fresh set of plugins)."""
    global _host
    with _lock:
        _host = host
    from ocma_core import registry

    registry.clear_caches()


def plugin_listing() -> list[dict[str, Any]]:
    """Every loaded plugin and every load error, with what each registered."""
    from ocma_core import registry

    host = get_host()
    registry.get_platforms()  # populate registration records
    from ocma_core.ai import registry as ai_registry

    ai_registry.text_providers()
    ai_registry.image_providers()
    from ocma_core.workspace_settings import registered_settings

    registered_settings()
    rows = [_with_core_fit(host, info.as_dict()) for info in host.infos.values()]
    rows += [info.as_dict() for info in host.errors if info.name not in host.infos]
    return rows


def _with_core_fit(host: PluginHost, row: dict[str, Any]) -> dict[str, Any]:
    """Add the core versions the plugin declares; one that does not fit this core gets an error saying so."""
    from ocma_core.plugin_compat import declared_versions, misfit

    versions = declared_versions(row.get("distribution"), host.pm.get_plugin(row["name"]))
    row["core_versions"] = versions
    problem = misfit(row.get("distribution") or row["name"], versions)
    if problem and not row.get("error"):
        row["error"] = problem
    return row
