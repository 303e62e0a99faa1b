"""The registry of items plugins register through the register_* hooks: one policy for platforms, AI providers, analyzers, settings
and agent tools.

Each item is checked when it is registered and stamped with its plugin. An invalid item, or one whose name is
already taken, is refused and reported as that plugin's error in `ocma plugins` (never dropped silently,
never renamed); the first item registered under a name keeps it. Items are collected once per plugin host.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any, Generic, TypeVar

from ocma_core.errors import ConfigError

T = TypeVar("T")

_registries: list[Registry[Any]] = []


class Registry(Generic[T]):
    """Items of one kind registered through `hook_name`, by name.

    `accept(item, plugin_name)` checks a registered item and returns what to keep (raising TypeError or ValueError with
    the reason for an invalid one); `key(item)` is the name it takes (default: its `name`); `builtin()` gives
    the items that exist before any plugin's, under the plugin name `builtin_plugin` (or the plugin
    `builtin_plugin(item)` names, which then lists the item in `ocma plugins` as one it registered).
    """

    def __init__(
        self,
        hook_name: str,
        kind: str,
        accept: Callable[[Any, str], T],
        *,
        key: Callable[[T], str] | None = None,
        builtin: Callable[[], Iterable[T]] | None = None,
        builtin_plugin: str | Callable[[T], str] = "ocma",
    ) -> None:
        self.hook_name, self.kind, self.accept = hook_name, kind, accept
        self.key: Callable[[T], str] = key or (lambda item: str(getattr(item, "name", "")))
        self.builtin, self.builtin_plugin = builtin, builtin_plugin
        self._lock = threading.RLock()
        self._cache: tuple[int, dict[str, T], dict[str, str]] | None = None
        self._config_errors: list[ConfigError] = []
        _registries.append(self)

    def items(self) -> dict[str, T]:
        """Every accepted item by name (collected on first use for the current plugin host)."""
        return self._load()[0]

    def owners(self) -> dict[str, str]:
        """Which plugin registered each name."""
        return self._load()[1]

    def config_errors(self) -> list[ConfigError]:
        """Items refused because the operator's settings for them are wrong (e.g. a bad
        OCMA_<PLATFORM>_MAX_CONCURRENCY): a process that serves or publishes refuses to start on these."""
        self._load()
        return list(self._config_errors)

    def clear(self) -> None:
        """Forget the collected items (after the plugin host changes)."""
        with self._lock:
            self._cache = None

    def _load(self) -> tuple[dict[str, T], dict[str, str]]:
        from ocma_core.plugins import get_host

        host = get_host()
        with self._lock:
            if self._cache is not None and self._cache[0] == id(host):
                return self._cache[1], self._cache[2]
            found: dict[str, T] = {}
            owners: dict[str, str] = {}
            self._config_errors = []
            for item in self.builtin() if self.builtin else ():
                found[self.key(item)] = item
                if callable(self.builtin_plugin):
                    owners[self.key(item)] = self.builtin_plugin(item)
                    host.record_registration(owners[self.key(item)], self.kind, _label(item))
                else:
                    owners[self.key(item)] = self.builtin_plugin

            def make_register(plugin_name: str) -> Callable[[Any], None]:
                def register(item: Any) -> None:
                    self._add(host, plugin_name, item, found, owners)

                return register

            host.call_each(self.hook_name, make_register)
            self._cache = (id(host), found, owners)
            return found, owners

    def _add(
        self, host: Any, plugin_name: str, item: Any, found: dict[str, T], owners: dict[str, str]
    ) -> None:
        try:
            accepted = self.accept(item, plugin_name)
            name = self.key(accepted)
            if not name:
                raise ValueError(f"{item!r} has no name")
        except (TypeError, ValueError, ConfigError) as exc:  # ConfigError: the operator's setting is wrong
            host.record_problem(plugin_name, f"{self.hook_name}: refused {_label(item)}: {exc}")
            if isinstance(exc, ConfigError):
                self._config_errors.append(exc)
            return
        if name in found:
            host.record_problem(
                plugin_name,
                f"{self.hook_name}: {self.kind} {name!r} is already registered by {owners[name]};"
                " this one is ignored",
            )
            return
        found[name], owners[name] = accepted, plugin_name
        host.record_registration(plugin_name, self.kind, _label(accepted))


def _label(item: Any) -> str:
    return str(getattr(item, "name", None) or getattr(item, "__name__", None) or repr(item))


def clear_caches() -> None:
    """Forget registered items of every registry (after the plugin host changes)."""
    for registry in list(_registries):
        registry.clear()
