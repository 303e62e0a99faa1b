"""One way to call hooks (through pluggy, each plugin isolated) and one registry policy for every kind."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Generator, Iterator
from typing import Any

import pytest

from ocma_core import hookimpl
from ocma_core.events import Event, dispatch
from ocma_core.plugins import PluginHost, reset_host


class _Listener:
    def __init__(self, seen: list[str], fail: bool = False) -> None:
        self.seen, self.fail = seen, fail

    @hookimpl
    def on_event(self, event: Event) -> None:
        self.seen.append(event.kind)
        if self.fail:
            raise RuntimeError("listener is broken")


@pytest.fixture
def host() -> Iterator[PluginHost]:
    host = PluginHost()
    reset_host(host)
    yield host
    reset_host(None)


def test_a_failing_plugin_is_recorded_and_the_others_still_run(host: PluginHost) -> None:
    seen: list[str] = []
    host.register(_Listener(seen, fail=True), name="broken")
    host.register(_Listener(seen), name="fine")
    dispatch(Event("post.published", "w1"))
    assert seen == ["post.published", "post.published"]
    assert [(e.name, "listener is broken" in (e.error or "")) for e in host.errors] == [("broken", True)]


def test_raise_errors_propagates_from_every_hook(host: PluginHost, monkeypatch: pytest.MonkeyPatch) -> None:
    host.register(_Listener([], fail=True), name="broken")
    monkeypatch.setenv("OCMA_RAISE_ERRORS", "1")
    with pytest.raises(RuntimeError, match="listener is broken"):
        dispatch(Event("post.published", "w1"))
    with pytest.raises(RuntimeError, match="listener is broken"):
        host.call("on_event", event=Event("post.failed", "w1"), ocma=None)


def test_calls_go_through_pluggy_so_wrappers_see_each_plugin(host: PluginHost) -> None:
    wrapped: list[str] = []

    class Wrapper:
        @hookimpl(wrapper=True)
        def on_event(self, event: Event) -> Generator[None, Any, Any]:
            wrapped.append(f"before {event.kind}")
            result = yield
            wrapped.append(f"after {event.kind}")
            return result

    host.register(Wrapper(), name="wrapper")
    host.register(_Listener([]), name="one")
    host.register(_Listener([]), name="two")
    assert host.implementers("on_event") == ["two", "one"]
    dispatch(Event("post.deleted", "w1"))
    assert wrapped == ["before post.deleted", "after post.deleted"] * 2


def test_trace_records_each_hook_call() -> None:
    host = PluginHost(trace=True)
    host.register(_Listener([]), name="listener")
    host.call("on_event", event=Event("post.published", "w1"), ocma=None)
    assert len(host.trace) == 1 and host.trace[0].startswith("on_event(event, ocma) -> listener in ")


def _platform_plugin(platform_name: str, cls_name: str) -> object:
    from ocma_core import Platform

    platform_cls = type(cls_name, (Platform,), {"name": platform_name})

    class Plugin:
        @hookimpl
        def register_platforms(self, register: Callable[[object], None]) -> None:
            register(platform_cls)
            register("not a platform")

    return Plugin()


def test_duplicate_and_invalid_items_are_plugin_errors(host: PluginHost) -> None:
    from ocma_core.registry import PLATFORMS, get_platforms

    host.register(_platform_plugin("dupe", "First"), name="first")
    host.register(_platform_plugin("dupe", "Second"), name="second")
    platforms = get_platforms()
    assert list(platforms) == ["dupe"]
    owner = PLATFORMS.owners()["dupe"]
    other = "first" if owner == "second" else "second"
    errors = {e.name: e.error or "" for e in host.errors}
    assert f"platforms 'dupe' is already registered by {owner}; this one is ignored" in errors[other]
    assert "refused 'not a platform': register() takes a Platform subclass" in errors[owner]
    PLATFORMS.clear()
    get_platforms()  # collected again: each problem is still reported once
    again = {e.name: e.error or "" for e in host.errors}
    assert again == errors


def test_ocma_plugins_shows_trace_and_duplicate_platform(tmp_path: Any) -> None:
    (tmp_path / "ocma_dupe.py").write_text(
        "from ocma_core import Platform, hookimpl\n"
        "class Dupe(Platform):\n    name = 'sandbox'\n"
        "@hookimpl\ndef register_platforms(register):\n    register(Dupe)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(tmp_path), "OCMA_TRACE_PLUGINS": "1"}
    env.update(OCMA_PLUGIN_MODULES="ocma_dupe", OCMA_LOAD_PLUGINS="ocma-sandbox")
    out = subprocess.run(
        [sys.executable, "-m", "ocma_core.cli", "plugins", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert "register_platforms(register) -> ocma_dupe in " in out.stderr
    assert "register_platforms(register) -> sandbox in " in out.stderr
    assert "platforms 'sandbox' is already registered by" in out.stdout
