"""Plugins declare their own event kinds (register_event_kinds): listed beside the core's, refused when the
name is malformed or taken, stored and streamed like any other, and docs/events.md lists those of every
plugin in the repository."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from test_event_stream import _key

from ocma_core import EventKind, hookimpl
from ocma_core.api.app import create_app
from ocma_core.app import events as app_events
from ocma_core.context import Ocma
from ocma_core.event_kinds import declared_by, markdown
from ocma_core.plugins import PluginHost, load_plugins, reset_host

SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["thing_id"],
    "properties": {"thing_id": {"type": "string"}},
}


class Declares:
    """A plugin declaring one good kind and three it may not."""

    @hookimpl
    def register_event_kinds(self, register: Any) -> None:
        register(EventKind("things.happened", "a thing happened", SCHEMA))
        register(EventKind("post.published", "taken by the core", SCHEMA))
        register(EventKind("Not A Kind", "malformed", SCHEMA))
        register("things.bare_string")


@pytest.fixture
def declared(plugin_host: PluginHost) -> Iterator[PluginHost]:
    plugin_host.register(Declares(), name="things")
    reset_host(plugin_host)  # collect the registries again for this host
    yield plugin_host


def test_a_plugin_kind_is_listed_beside_the_cores(declared: PluginHost) -> None:
    kinds = app_events.registered_kinds()
    assert kinds["things.happened"].schema == SCHEMA
    assert declared_by()["things.happened"] == "things"
    assert declared_by()["post.published"] == "ocma"
    assert list(kinds)[: len(app_events.KINDS)] == list(app_events.KINDS)  # the core's first
    problems = " ".join(info.error or "" for info in declared.errors)
    assert "'post.published' is already registered by ocma" in problems
    assert "Not A Kind" in problems and "things.bare_string" in problems
    text = markdown()
    assert "| `things.happened` | things | a thing happened |" in text and "## `things.happened`" in text


def test_a_plugin_kind_is_stored_and_streamed(declared: PluginHost, ocma: Ocma, workspace_id: str) -> None:
    event = app_events.Event("things.happened", workspace_id, {"thing_id": "t1"})
    with ocma.session() as session:
        app_events.record(session, event)
    app_events.dispatch(event, ocma)
    with (
        TestClient(create_app(ocma, run_worker=False)) as client,
        client.websocket_connect(
            "/v1/stream?since=0&follow=false&kinds=things.happened", headers=_key(ocma, workspace_id)
        ) as ws,
    ):
        message = ws.receive_json()
    assert (message["kind"], message["data"], message["seq"]) == ("things.happened", {"thing_id": "t1"}, 1)


def test_docs_list_the_kinds_of_every_plugin_in_the_repository() -> None:
    reset_host(load_plugins(PluginHost(), env={}))
    try:
        docs = Path(__file__).resolve().parent.parent / "docs" / "events.md"
        assert docs.read_text() == markdown(), "run: python -m ocma_core.event_kinds > docs/events.md"
    finally:
        reset_host(None)
