"""Every documented workspace setting can be set, checked, read back and unset: services, CLI and API."""

from __future__ import annotations

import json
import types
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from ocma_core import WorkspaceSetting, hookimpl
from ocma_core.context import Ocma
from ocma_core.db.models import Role
from ocma_core.errors import ValidationFailed
from ocma_core.plugins import PluginHost
from ocma_core.registry import clear_caches
from ocma_core.services.workspaces import change_workspace, create_api_key, get_workspace, update_settings
from ocma_core.workspace_settings import registered_settings


@hookimpl
def register_settings(register: Any) -> None:
    register(
        WorkspaceSetting(
            "daily_cap",
            int,
            "At most this many posts a day.",
            example=5,
            fix="A whole number, e.g. 5.",
            path=("capper", "cap"),
        )
    )


@pytest.fixture
def capper(plugin_host: PluginHost) -> Iterator[None]:
    """A plugin that registers one setting, stored under nested keys."""
    plugin_host.register(types.SimpleNamespace(register_settings=register_settings), name="capper")
    clear_caches()
    yield
    clear_caches()


@pytest.fixture
def cli(ocma: Ocma, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Any:
    """Run `ocma ...` on the test's database; returns (exit code, stdout, stderr)."""
    monkeypatch.setenv("OCMA_DATABASE_URL", ocma.settings.resolved_database_url.replace("+psycopg", ""))
    monkeypatch.setenv("OCMA_DATA_DIR", str(ocma.settings.data_dir))
    monkeypatch.setenv("OCMA_ENCRYPTION_KEYS", ocma.settings.encryption_keys or "")

    def invoke(*argv: str) -> tuple[int, str, str]:
        from ocma_core.cli.main import main

        with pytest.raises(SystemExit) as exited:
            main(list(argv))
        captured = capsys.readouterr()
        return int(exited.value.code or 0), captured.out, captured.err

    return invoke


def headers(ocma: Ocma, workspace_id: str, role: Role) -> dict[str, str]:
    return {"Authorization": f"Bearer {create_api_key(ocma, workspace_id, role=role).key}"}


@pytest.fixture
def api(ocma: Ocma, capper: None) -> Iterator[TestClient]:
    from ocma_core.api.app import create_app

    with TestClient(create_app(ocma, run_worker=False)) as client:
        yield client


def test_every_registered_example_is_a_valid_value(capper: None) -> None:
    settings = registered_settings()
    assert {"approval_required", "brand_voice", "queue_slots", "daily_cap"} <= set(settings)
    for setting in settings.values():
        assert setting.validate(setting.example) is not None, setting.name


def test_settings_are_checked_together_and_nothing_is_written_when_one_is_wrong(
    ocma: Ocma, workspace_id: str, capper: None
) -> None:
    with pytest.raises(ValidationFailed) as refused:
        change_workspace(
            ocma,
            workspace_id,
            name="Renamed",
            settings={
                "approval_required": True,
                "queue_slots": {"weekdays": ["someday"], "times": ["09:00"]},
                "daily_cap": "lots",
                "colour": "blue",
            },
        )
    fields = {p["field"]: p for p in refused.value.problems}
    assert set(fields) == {"queue_slots", "daily_cap", "colour"}
    assert "'someday' is not a weekday" in fields["queue_slots"]["message"]
    assert fields["queue_slots"]["fix"] == "Use mon, tue, ... sun."
    assert fields["daily_cap"]["fix"] == "A whole number, e.g. 5."
    assert "Settable: " in fields["colour"]["fix"] and "queue_slots" in fields["colour"]["fix"]
    workspace = get_workspace(ocma, workspace_id)
    assert workspace.name == "Test team" and workspace.settings == {}


def test_values_are_normalised_nested_paths_keep_their_neighbours_and_none_unsets(
    ocma: Ocma, workspace_id: str, capper: None
) -> None:
    update_settings(ocma, workspace_id, capper={"teams": {"T1": {"installation": "secret"}}})
    workspace = change_workspace(
        ocma,
        workspace_id,
        settings={
            "queue_slots": {"weekdays": ["Fri", "mon", "mon"], "times": ["15:30", "9:00"]},
            "daily_cap": 3,
        },
    )
    assert workspace.settings["queue_slots"] == {"weekdays": ["mon", "fri"], "times": ["09:00", "15:30"]}
    assert workspace.settings["capper"] == {"teams": {"T1": {"installation": "secret"}}, "cap": 3}
    workspace = change_workspace(ocma, workspace_id, settings={"queue_slots": None, "daily_cap": None})
    assert workspace.settings == {"capper": {"teams": {"T1": {"installation": "secret"}}}}


def test_queue_slots_set_from_the_cli_are_used_by_next_slot(
    ocma: Ocma, workspace_id: str, account_id: str, cli: Any
) -> None:
    from ocma_core.services.post_input import PostInput
    from ocma_core.services.posts import create_post

    code, out, err = cli(
        "workspaces", "set", "--json", "--queue-slots", '{"weekdays": ["tue"], "times": ["07:45"]}'
    )
    assert code == 0, err
    assert json.loads(out)["settings"]["queue_slots"] == {"weekdays": ["tue"], "times": ["07:45"]}
    post = create_post(
        ocma, workspace_id, PostInput(body="Slot me", account_ids=[account_id], action="next_slot")
    )
    assert post.scheduled_at is not None
    local = post.scheduled_at.astimezone(__import__("zoneinfo").ZoneInfo("Europe/Berlin"))
    assert (local.strftime("%a"), local.strftime("%H:%M")) == ("Tue", "07:45")


def test_cli_set_show_unset_and_refusals(ocma: Ocma, workspace_id: str, capper: None, cli: Any) -> None:
    code, out, err = cli("workspaces", "set", "--help")
    assert code == 0 and "--daily-cap JSON" in out and "--approval-required / --no-approval-required" in out
    assert "Example:" in out
    code, out, err = cli(
        "workspaces", "set", "--json", "--approval-required", "--brand-voice", "Plain words.", "--daily-cap", "4",
        "--timezone", "America/New_York",
    )  # fmt: skip
    assert code == 0, err
    shown = json.loads(cli("workspaces", "show", "--json")[1])
    assert shown["timezone"] == "America/New_York"
    assert shown["settings"] == {
        "approval_required": True,
        "brand_voice": "Plain words.",
        "queue_slots": None,
        "daily_cap": 4,
    }
    code, out, err = cli("workspaces", "set", "--queue-slots", "{weekdays: mon}")
    assert code == 1 and "--queue-slots is not JSON" in err and "Quote the JSON" in err
    code, out, err = cli("workspaces", "set", "--daily-cap", '"many"')
    assert code == 1 and "daily_cap" in err and "A whole number, e.g. 5." in err
    code, out, err = cli("workspaces", "set", "--json", "--unset", "brand_voice", "--no-approval-required")
    assert code == 0, err
    assert json.loads(out)["settings"]["brand_voice"] is None
    assert get_workspace(ocma, workspace_id).settings["approval_required"] is False
    code, out, err = cli("workspaces", "set")
    assert code == 2 and "Nothing to change" in err


def test_api_get_and_patch_current_workspace(ocma: Ocma, workspace_id: str, api: TestClient) -> None:
    admin, viewer = headers(ocma, workspace_id, Role.ADMIN), headers(ocma, workspace_id, Role.VIEWER)
    shown = api.get("/v1/workspaces/current", headers=viewer).json()
    assert shown["name"] == "Test team" and shown["settings"]["queue_slots"] is None
    refused = api.patch("/v1/workspaces/current", headers=viewer, json={"name": "Mine"})
    assert refused.status_code == 403 and refused.headers["content-type"] == "application/problem+json"
    changed = api.patch(
        "/v1/workspaces/current",
        headers=admin,
        json={"name": "Acme", "settings": {"brand_voice": "Calm.", "daily_cap": 2}},
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["name"] == "Acme"
    assert (
        changed.json()["settings"]["brand_voice"] == "Calm." and changed.json()["settings"]["daily_cap"] == 2
    )
    assert api.get("/v1/workspaces/current", headers=viewer).json()["settings"]["daily_cap"] == 2
    unset = api.patch("/v1/workspaces/current", headers=admin, json={"settings": {"brand_voice": None}})
    assert unset.json()["settings"]["brand_voice"] is None and unset.json()["settings"]["daily_cap"] == 2


def test_a_patch_made_on_an_old_read_is_refused_and_changes_nothing(
    ocma: Ocma, workspace_id: str, api: TestClient
) -> None:
    """Two admins read the workspace; the second one's change, made on the old read, must not overwrite the
    first's unseen (the whole automation rule list is one setting)."""
    admin = headers(ocma, workspace_id, Role.ADMIN)
    read = api.get("/v1/workspaces/current", headers=admin)
    tag = read.headers["ETag"]
    first = api.patch(
        "/v1/workspaces/current", headers={**admin, "If-Match": tag}, json={"settings": {"daily_cap": 3}}
    )
    assert first.status_code == 200 and first.headers["ETag"] != tag
    stale = api.patch(
        "/v1/workspaces/current", headers={**admin, "If-Match": tag}, json={"settings": {"daily_cap": 9}}
    )
    assert stale.status_code == 412 and stale.headers["content-type"] == "application/problem+json"
    assert first.headers["ETag"] in stale.json()["detail"] and stale.json()["fix"]
    assert get_workspace(ocma, workspace_id).settings == {"capper": {"cap": 3}}
    fresh = api.get("/v1/workspaces/current", headers=admin).headers["ETag"]
    assert fresh == first.headers["ETag"]
    again = api.patch(
        "/v1/workspaces/current",
        headers={**admin, "If-Match": f'W/"elsewhere", {fresh}'},
        json={"settings": {"daily_cap": 9}},
    )
    assert again.status_code == 200 and again.json()["settings"]["daily_cap"] == 9
    anyway = api.patch("/v1/workspaces/current", headers={**admin, "If-Match": "*"}, json={"name": "Acme"})
    assert anyway.status_code == 200
    malformed = api.patch("/v1/workspaces/current", headers={**admin, "If-Match": "v1"}, json={"name": "X"})
    assert malformed.status_code == 422 and get_workspace(ocma, workspace_id).name == "Acme"


def test_a_stale_version_is_refused_by_the_service_too(ocma: Ocma, workspace_id: str, capper: None) -> None:
    from ocma_core.errors import PreconditionFailed
    from ocma_core.services.workspaces import workspace_etag

    tag = workspace_etag(get_workspace(ocma, workspace_id))
    change_workspace(ocma, workspace_id, timezone="America/Lima", if_match=tag)
    with pytest.raises(PreconditionFailed, match="changed since you read it"):
        change_workspace(ocma, workspace_id, timezone="Asia/Tokyo", if_match=tag)
    assert get_workspace(ocma, workspace_id).timezone == "America/Lima"


def test_api_refusals_name_the_field_and_the_fix(ocma: Ocma, workspace_id: str, api: TestClient) -> None:
    admin = headers(ocma, workspace_id, Role.ADMIN)
    answer = api.patch(
        "/v1/workspaces/current",
        headers=admin,
        json={"timezone": "Mars/Olympus", "settings": {"brand_voice": "x" * 4001}},
    )
    assert answer.status_code == 422 and answer.headers["content-type"] == "application/problem+json"
    assert "Unknown timezone 'Mars/Olympus'" in answer.json()["detail"] and answer.json()["fix"]
    answer = api.patch(
        "/v1/workspaces/current",
        headers=admin,
        json={"settings": {"brand_voice": "x" * 4001, "queue_slots": {"times": ["9am"]}}},
    )
    problems = {p["field"]: p for p in answer.json()["problems"]}
    assert set(problems) == {"brand_voice", "queue_slots"}
    assert problems["brand_voice"]["fix"] == "A text of at most 4000 characters."
    assert problems["queue_slots"]["fix"] == "Write times as HH:MM, e.g. 09:30."
    assert get_workspace(ocma, workspace_id).settings == {}
    unknown = api.patch("/v1/workspaces/current", headers=admin, json={"settings": {"colour": "blue"}})
    assert unknown.status_code == 422 and "settings.colour" in unknown.json()["detail"]


def test_openapi_documents_every_registered_setting(ocma: Ocma, api: TestClient) -> None:
    schemas = api.get("/openapi.json").json()["components"]["schemas"]
    properties = schemas["WorkspaceSettings"]["properties"]
    assert set(properties) == set(registered_settings())
    slots = properties["queue_slots"]["anyOf"][0]
    assert slots["required"] == ["times"] and slots["additionalProperties"] is False
    assert properties["daily_cap"]["anyOf"] == [{"type": "integer"}, {"type": "null"}]
    assert "$ref" not in json.dumps(properties).replace('"$ref": "#/components', "")


def test_ocma_plugins_lists_the_settings_a_plugin_registered(capper: None) -> None:
    from ocma_core.plugins import plugin_listing

    for _ in range(2):  # listed once however often the registries are rebuilt
        clear_caches()
        rows = {row["name"]: row for row in plugin_listing()}
    assert rows["capper"]["registered"] == {"settings": ["daily_cap"]}
    assert "register_settings" in rows["capper"]["hooks"]
