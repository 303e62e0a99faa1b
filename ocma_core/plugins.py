"""Plugin loading: entry points of group `ocma`, allow/deny lists, and error isolation."""

from __future__ import annotations

import importlib
import logging
import os
import threading
import time
import traceback
import types
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from typing import TYPE_CHECKING, Any

import pluggy

from ocma_core import hookspecs

if TYPE_CHECKING:
    from pluggy import HookImpl

ENTRY_POINT_GROUP = "ocma"
# Built-in features register through the same hooks as third-party plugins.
DEFAULT_PLUGINS: tuple[str, ...] = ("ocma_core.analytics.builtin_analyzers", "ocma_core.clicks.link_clicks")


@dataclass
class PluginInfo:
    """What `ocma plugins` shows about one plugin."""

    name: str
    distribution: str | None = None
    version: str | None = None
    hooks: list[str] = field(default_factory=list)
    registered: dict[str, list[str]] = field(default_factory=dict)
    error: str | None = None
    problems: list[str] = field(default_factory=list)  # each problem recorded after loading, once

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

    def __init__(self, *, trace: bool | None = None) -> None:
        self.pm = pluggy.PluginManager("ocma")
        self.pm.add_hookspecs(hookspecs)
        self.infos: dict[str, PluginInfo] = {}
        self.errors: list[PluginInfo] = []
        self.trace: list[str] = []  # with OCMA_TRACE_PLUGINS: one line per hook call
        self._trace_started: list[float] = []  # a stack: hook calls nest
        if trace_enabled() if trace is None else trace:
            self.pm.add_hookcall_monitoring(self._trace_before, self._trace_after)

    def register(self, plugin: object, name: str, *, distribution: str | None = None) -> bool:
        """Register one plugin object; a broken one is recorded as an error instead of raising."""
        version = None
        if distribution:
            try:
                version = metadata.version(distribution)
            except metadata.PackageNotFoundError:
                version = None
        info = PluginInfo(name=name, distribution=distribution, version=version)
        plugin = _hashable(plugin, name)
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
        detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        self.record_problem(plugin_name, f"{what} failed: {detail}")

    def record_problem(self, plugin_name: str, message: str) -> None:
        """Record a plugin error (a failed hook, a duplicate or invalid item) for `ocma plugins`."""
        info = self.infos.get(plugin_name) or PluginInfo(name=plugin_name)
        if message in info.problems:
            return  # registries are rebuilt after a reset; report each problem once
        info.problems.append(message)
        info.error = f"{info.error}; {message}" if info.error else message
        if info not in self.errors:
            self.errors.append(info)

    def call(self, hook_name: str, **kwargs: Any) -> list[tuple[str, Any]]:
        """Call a hook through pluggy on each plugin separately; (plugin name, result) for each that returned.

        A plugin that raises is recorded as a plugin error (`ocma plugins`) and the others still run; with
        OCMA_RAISE_ERRORS set the exception propagates instead. Wrappers stay around every call."""
        results: list[tuple[str, Any]] = []
        for plugin_name in self.implementers(hook_name):
            outcome = self._call_one(hook_name, plugin_name, kwargs)
            if outcome is not _FAILED:
                results.append((plugin_name, outcome))
        return results

    def call_each(self, hook_name: str, make_register: Callable[[str], Callable[[Any], None]]) -> None:
        """Call a register_* hook on each plugin with its own `register`, so items and errors are attributed."""
        for plugin_name in self.implementers(hook_name):
            self._call_one(hook_name, plugin_name, {"register": make_register(plugin_name)})

    def implementers(self, hook_name: str) -> list[str]:
        """The plugins implementing `hook_name` (not its wrappers), in pluggy's call order."""
        caller = getattr(self.pm.hook, hook_name)
        return [impl.plugin_name for impl in reversed(caller.get_hookimpls()) if not _is_wrapper(impl)]

    def _call_one(self, hook_name: str, plugin_name: str, kwargs: dict[str, Any]) -> Any:
        caller = getattr(self.pm.hook, hook_name)
        others = [
            impl.plugin
            for impl in caller.get_hookimpls()
            if impl.plugin_name != plugin_name and not _is_wrapper(impl)
        ]
        try:
            results = self.pm.subset_hook_caller(hook_name, remove_plugins=others)(**kwargs)
        except Exception as exc:
            if raise_errors():
                raise
            log.warning("plugin %s failed in %s", plugin_name, hook_name, exc_info=True)
            self.record_failure(plugin_name, hook_name, exc)
            return _FAILED
        return results[0] if results else None

    def _trace_before(self, hook_name: str, impls: Sequence[HookImpl], kwargs: Mapping[str, Any]) -> None:
        self._trace_started.append(time.perf_counter())

    def _trace_after(
        self, outcome: Any, hook_name: str, impls: Sequence[HookImpl], kwargs: Mapping[str, Any]
    ) -> None:
        started = self._trace_started.pop() if self._trace_started else time.perf_counter()
        names = [impl.plugin_name for impl in impls if not _is_wrapper(impl)]
        error = outcome.exception
        line = (
            f"{hook_name}({', '.join(kwargs)}) -> {', '.join(names) or 'no plugin'}"
            f" in {(time.perf_counter() - started) * 1000:.1f} ms"
            + (f", raised {type(error).__name__}: {error}" if error is not None else "")
        )
        self.trace.append(line)
        trace_log.info("%s", line)


_FAILED = object()
log = logging.getLogger(__name__)
trace_log = logging.getLogger("ocma.plugins.trace")


def _hashable(plugin: object, name: str) -> object:
    """The plugin, or a module holding its attributes when it cannot be hashed (pluggy keeps sets of plugins
    to call one at a time)."""
    try:
        hash(plugin)
    except TypeError:
        proxy = types.ModuleType(name)
        proxy.__dict__.update({k: getattr(plugin, k) for k in dir(plugin) if not k.startswith("__")})
        return proxy
    return plugin


def _is_wrapper(impl: HookImpl) -> bool:
    return bool(impl.hookwrapper or impl.wrapper)


def raise_errors(env: Mapping[str, str] | None = None) -> bool:
    """True when OCMA_RAISE_ERRORS asks for plugin exceptions to propagate (to debug a plugin)."""
    value = (os.environ if env is None else env).get("OCMA_RAISE_ERRORS", "")
    return value.strip().lower() not in ("", "0", "false", "no")


def trace_enabled(env: Mapping[str, str] | None = None) -> bool:
    """True when OCMA_TRACE_PLUGINS asks for each hook call to be logged."""
    value = (os.environ if env is None else env).get("OCMA_TRACE_PLUGINS", "")
    return value.strip().lower() not in ("", "0", "false", "no")


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
            if raise_errors(env):
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
    from ocma_core.analytics.registry import get_analyzers

    get_analyzers()
    from ocma_core.webhook_receivers import receivers

    receivers()  # platforms' and plugins' /webhooks/{name}, and any refused
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
