"""Members, API keys and workspaces: the CLI and the API, role limits, the last owner, Slack ids."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from ocma_core.context import Ocma
from ocma_core.db.models import Role
from ocma_core.errors import ConflictError, PermissionDenied, ValidationFailed
from ocma_core.services import members
from ocma_core.services.workspaces import create_api_key


@pytest.fixture
def api(ocma: Ocma) -> Iterator[TestClient]:
    from ocma_core.api.app import create_app

    with TestClient(create_app(ocma, run_worker=False)) as client:
        yield client


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


def auth(ocma: Ocma, workspace_id: str, role: Role) -> dict[str, str]:
    return {"Authorization": f"Bearer {create_api_key(ocma, workspace_id, role=role).key}"}


def test_add_by_email_or_slack_id_with_checks(ocma: Ocma, workspace_id: str) -> None:
    ana = members.add_member(ocma, workspace_id, email="ana@example.com", name="Ana", role=Role.ADMIN)
    slacker = members.add_member(ocma, workspace_id, external_ids={"slack": "U0SLACKER"})
    assert slacker.email is None and slacker.external_ids == {"slack": "U0SLACKER"}
    with pytest.raises(ConflictError, match=r"ana@example\.com is already a member"):
        members.add_member(ocma, workspace_id, email="ANA@example.com")
    with pytest.raises(ConflictError, match=f"U0SLACKER already belongs to member {slacker.id}"):
        members.add_member(ocma, workspace_id, email="bo@example.com", external_ids={"slack": "U0SLACKER"})
    with pytest.raises(ValidationFailed) as bad:
        members.add_member(ocma, workspace_id, external_ids={"slack": "ana"})
    assert bad.value.problems[0]["field"] == "external_ids.slack" and "Copy member ID" in str(bad.value.fix)
    with pytest.raises(ValidationFailed, match="needs an email or an external id"):
        members.add_member(ocma, workspace_id, name="Nobody")
    with pytest.raises(ValidationFailed, match="not an email address"):
        members.add_member(ocma, workspace_id, email="ana at example")
    with ocma.session() as session:  # found by id, email (any case) or Slack id
        assert members.find_member(session, workspace_id, "Ana@Example.com").id == ana.id
        assert members.find_member(session, workspace_id, "U0SLACKER").id == slacker.id
        assert members.find_member(session, workspace_id, ana.id).id == ana.id


def test_the_only_owner_can_be_neither_removed_nor_demoted(ocma: Ocma, workspace_id: str) -> None:
    with pytest.raises(ConflictError, match="only owner") as refused:
        members.update_member(ocma, workspace_id, "owner@example.com", role=Role.ADMIN)
    assert "set-role OTHER owner" in str(refused.value.fix)
    with pytest.raises(ConflictError, match="only owner"):
        members.remove_member(ocma, workspace_id, "owner@example.com")
    members.add_member(ocma, workspace_id, email="second@example.com", role=Role.OWNER)
    assert members.update_member(ocma, workspace_id, "owner@example.com", role=Role.ADMIN).role is Role.ADMIN
    with pytest.raises(ConflictError, match="only owner"):
        members.remove_member(ocma, workspace_id, "second@example.com")


def test_nobody_grants_or_touches_a_role_above_their_own(ocma: Ocma, workspace_id: str) -> None:
    with pytest.raises(PermissionDenied, match="cannot give or change the owner role"):
        members.add_member(ocma, workspace_id, email="x@example.com", role=Role.OWNER, by=Role.ADMIN)
    with pytest.raises(PermissionDenied, match="cannot give or change the owner role"):
        members.remove_member(ocma, workspace_id, "owner@example.com", by=Role.ADMIN)
    with pytest.raises(PermissionDenied, match="needs the admin role"):
        members.add_member(ocma, workspace_id, email="x@example.com", by=Role.EDITOR)
    ed = members.add_member(ocma, workspace_id, email="ed@example.com", role=Role.EDITOR, by=Role.ADMIN)
    assert members.update_member(ocma, workspace_id, ed.id, role=Role.ADMIN, by=Role.ADMIN).role is Role.ADMIN


def test_members_through_the_api(ocma: Ocma, workspace_id: str, api: TestClient) -> None:
    admin, editor = auth(ocma, workspace_id, Role.ADMIN), auth(ocma, workspace_id, Role.EDITOR)
    added = api.post(
        "/v1/members", headers=admin, json={"external_ids": {"slack": "U0NEW"}, "role": "editor"}
    )
    assert added.status_code == 201, added.text
    body = added.json()
    assert body["email"] is None and body["role"] == "editor" and body["external_ids"] == {"slack": "U0NEW"}
    listed = api.get("/v1/members", headers=editor).json()
    assert [m["email"] for m in listed] == ["owner@example.com", None]
    assert api.get("/v1/members/U0NEW", headers=editor).json()["id"] == body["id"]
    forbidden = api.post("/v1/members", headers=editor, json={"email": "x@example.com"})
    assert forbidden.status_code == 403 and forbidden.headers["content-type"] == "application/problem+json"
    above = api.post("/v1/members", headers=admin, json={"email": "x@example.com", "role": "owner"})
    assert above.status_code == 403 and above.json()["fix"] == "Ask an owner to do it."
    patched = api.patch(
        f"/v1/members/{body['id']}",
        headers=admin,
        json={"role": "viewer", "name": "Neo", "external_ids": {"slack": None, "github": "neo"}},
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["role"] == "viewer" and patched.json()["external_ids"] == {"github": "neo"}
    last = api.delete("/v1/members/owner@example.com", headers=auth(ocma, workspace_id, Role.OWNER))
    assert last.status_code == 409 and "only owner" in last.json()["detail"] and last.json()["fix"]
    gone = api.delete(f"/v1/members/{body['id']}", headers=admin)
    assert gone.status_code == 200 and gone.json()["name"] == "Neo"
    missing = api.get(f"/v1/members/{body['id']}", headers=admin)
    assert missing.status_code == 404 and "ocma members list" in missing.json()["fix"]
    bad = api.post("/v1/members", headers=admin, json={"external_ids": {"slack": "neo"}})
    assert bad.status_code == 422 and bad.json()["problems"][0]["field"] == "external_ids.slack"


def test_api_keys_through_the_api(ocma: Ocma, workspace_id: str, api: TestClient) -> None:
    admin = auth(ocma, workspace_id, Role.ADMIN)
    owner_key = create_api_key(ocma, workspace_id, name="boss", role=Role.OWNER).record.key_id
    created = api.post("/v1/apikeys", headers=admin, json={"name": "zapier", "role": "editor"})
    assert created.status_code == 201, created.text
    secret, key_id = created.json()["key"], created.json()["key_id"]
    new = {"Authorization": f"Bearer {secret}"}
    assert api.get("/v1/members", headers=new).status_code == 200
    listed = api.get("/v1/apikeys", headers=admin)
    assert listed.status_code == 200
    assert secret not in listed.text and "key_hash" not in listed.text and "key" not in listed.json()[0]
    assert {k["key_id"]: k["role"] for k in listed.json()}[key_id] == "editor"
    above = api.post("/v1/apikeys", headers=admin, json={"role": "owner"})
    assert above.status_code == 403 and "nobody mints a key above their own role" in above.json()["detail"]
    assert api.get("/v1/apikeys", headers=new).status_code == 403  # editors see no keys
    assert api.delete(f"/v1/apikeys/{owner_key}", headers=admin).status_code == 403
    revoked = api.delete(f"/v1/apikeys/{key_id}", headers=admin)
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    assert api.get("/v1/members", headers=new).status_code == 401
    assert api.delete(f"/v1/apikeys/{key_id}", headers=admin).status_code == 200  # again: harmless
    assert api.delete("/v1/apikeys/nope", headers=admin).status_code == 404


def test_workspaces_through_the_api(ocma: Ocma, workspace_id: str, api: TestClient) -> None:
    owner, admin = auth(ocma, workspace_id, Role.OWNER), auth(ocma, workspace_id, Role.ADMIN)
    assert [w["id"] for w in api.get("/v1/workspaces", headers=admin).json()] == [workspace_id]
    assert api.post("/v1/workspaces", headers=admin, json={"name": "Other"}).status_code == 403
    bad = api.post("/v1/workspaces", headers=owner, json={"name": "Other", "timezone": "Nowhere/Land"})
    assert bad.status_code == 422 and "IANA" in bad.json()["fix"]
    created = api.post(
        "/v1/workspaces",
        headers=owner,
        json={"name": "Acme EMEA", "timezone": "Europe/Paris", "owner_email": "eve@example.com"},
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["key"]["role"] == "owner" and body["key"]["key"].startswith("ocma_")
    new = {"Authorization": f"Bearer {body['key']['key']}"}
    current = api.get("/v1/workspaces/current", headers=new).json()
    assert (current["id"], current["name"], current["timezone"]) == (
        body["workspace"]["id"],
        "Acme EMEA",
        "Europe/Paris",
    )
    assert [(m["email"], m["role"]) for m in api.get("/v1/members", headers=new).json()] == [
        ("eve@example.com", "owner")
    ]
    # Tenants stay apart: the first workspace's key sees none of the new one's members.
    assert [m["email"] for m in api.get("/v1/members", headers=admin).json()] == ["owner@example.com"]


def test_members_from_the_cli(ocma: Ocma, workspace_id: str, cli: Any) -> None:
    code, out, err = cli("members", "add", "ana@example.com", "--name", "Ana", "--role", "admin")
    assert code == 0, err
    assert "Added ana@example.com as admin" in out
    code, out, err = cli("members", "add", "--slack", "U0CLI", "--role", "viewer")
    assert code == 0 and "Slack user U0CLI can now talk to the OCMA app" in out
    code, out, err = cli("members", "set-role", "U0CLI", "editor")
    assert code == 0 and "is now editor" in out
    code, out, err = cli("members", "link", "ana@example.com", "--slack", "U0ANA", "--external", "github=ana")
    assert code == 0 and "github: ana, slack: U0ANA" in out
    code, out, err = cli("members", "link", "ana@example.com", "--slack", "")
    assert code == 0 and "github: ana" in out and "U0ANA" not in out
    code, out, err = cli("members", "set-role", "owner@example.com", "viewer")
    assert code == 1 and "only owner" in err and "ocma members set-role OTHER owner" in err
    code, out, err = cli("members", "add", "--slack", "nope")
    assert code == 1 and "Copy member ID" in err
    code, out, err = cli("members", "remove", "U0CLI", "--yes")
    assert code == 0 and "Removed" in out
    code, out, err = cli("members", "list", "--json")
    listed = json.loads(out)
    assert [(m["email"], m["role"], m["external_ids"]) for m in listed] == [
        ("owner@example.com", "owner", {}),
        ("ana@example.com", "admin", {"github": "ana"}),
    ]
    for command in ("list", "add", "set-role", "link", "remove"):
        code, out, err = cli("members", command, "--help")
        assert code == 0 and "Example" in out, command


def test_nul_characters_and_bad_addresses_are_refused_not_stored(
    ocma: Ocma, workspace_id: str, api: TestClient
) -> None:
    """PostgreSQL refuses NUL in text: each input says so with a 4xx instead of failing inside the database."""
    admin, owner = auth(ocma, workspace_id, Role.ADMIN), auth(ocma, workspace_id, Role.OWNER)
    for body in ({"email": "ana\u0000@example.com"}, {"email": "ana@example.com", "name": "A\u0000na"},
                 {"external_ids": {"github": "a\u0000"}}):  # fmt: skip
        answer = api.post("/v1/members", headers=admin, json=body)
        assert answer.status_code == 422 and answer.json()["problems"][0]["fix"], body
    voice = api.patch("/v1/workspaces/current", headers=admin, json={"settings": {"brand_voice": "x\u0000"}})
    assert voice.status_code == 422 and voice.json()["problems"][0]["field"] in (
        "brand_voice",
        "settings.brand_voice",
    )
    assert api.delete("/v1/apikeys/k%00", headers=admin).status_code in (404, 422)
    assert api.post("/v1/apikeys", headers=admin, json={"name": "z\u0000"}).status_code == 422
    new = api.post("/v1/workspaces", headers=owner, json={"name": "B", "owner_email": "not an address"})
    assert new.status_code == 422 and new.json()["problems"][0]["field"] == "email"
    assert len(api.get("/v1/members", headers=admin).json()) == 1


def test_migration_0007_lets_members_go_without_an_email_and_back(ocma: Ocma, workspace_id: str) -> None:
    from alembic import command
    from sqlalchemy import text

    from ocma_core.db.migrate import alembic_config, upgrade

    slacker = members.add_member(ocma, workspace_id, external_ids={"slack": "U0ONLY"})
    cfg = alembic_config()
    try:  # back to a mandatory email (the member gets one saying where it came from), then forward again
        with ocma.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0006")
        with ocma.engine.connect() as conn:
            emails = dict(conn.execute(text("SELECT id, email FROM member")).all())
        upgrade(ocma.engine)
    finally:
        upgrade(ocma.engine)  # never leave the shared test database behind head
    assert emails[slacker.id] == f"no-email-{slacker.id}"
    assert sorted(e for e in emails.values()) == sorted(["owner@example.com", f"no-email-{slacker.id}"])
    second = members.add_member(ocma, workspace_id, external_ids={"slack": "U0SECOND"})
    third = members.add_member(ocma, workspace_id, external_ids={"slack": "U0THIRD"})
    assert (second.email, third.email) == (None, None)  # NULLs never collide in the unique constraint
