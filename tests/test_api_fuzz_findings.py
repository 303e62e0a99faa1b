"""Inputs found by fuzzing that crashed the API (500) or were silently mishandled: each is a 4xx with a fix now."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from live_server import free_port
from sqlmodel import func, select

from ocma_core.api.app import create_app
from ocma_core.context import Ocma
from ocma_core.db.models import Post, Role
from ocma_core.services.workspaces import create_api_key


@pytest.fixture
def client(ocma: Ocma, fake: Any) -> Iterator[TestClient]:
    with TestClient(create_app(ocma, run_worker=False)) as c:
        yield c


@pytest.fixture
def editor(ocma: Ocma, workspace_id: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {create_api_key(ocma, workspace_id, role=Role.EDITOR).key}"}


def _posts(ocma: Ocma) -> int:
    with ocma.session() as session:
        return int(session.exec(select(func.count()).select_from(Post)).one())


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("GET", "/v1/posts/abc%00def", None, "path"),
        ("GET", "/v1/posts?account_id=a%00b", None, "account_id"),
        ("POST", "/v1/posts", {"body": "hello\u0000world"}, "body"),
        ("POST", "/v1/posts", {"body": "ok", "variants": {"fakesocial": "x\u0000"}}, "variants.fakesocial"),
    ],
    ids=["path-id", "query", "body", "nested"],
)
def test_a_nul_character_is_a_422_naming_the_field(
    client: TestClient, ocma: Ocma, editor: dict[str, str], method: str, path: str, body: Any, field: str
) -> None:
    answer = client.request(method, path, headers=editor, json=body)
    assert answer.status_code == 422, answer.text
    assert answer.json()["problems"][0]["field"] == field and "NUL" in answer.json()["fix"]
    assert _posts(ocma) == 0


def test_an_escaped_backslash_before_u0000_is_not_a_nul(client: TestClient, editor: dict[str, str]) -> None:
    answer = client.post("/v1/posts", headers=editor, json={"body": "a literal \\u0000 in text"})
    assert answer.status_code == 201 and answer.json()["body"] == "a literal \\u0000 in text"


def test_an_offset_past_any_list_is_a_422(client: TestClient, editor: dict[str, str]) -> None:
    answer = client.get("/v1/posts", headers=editor, params={"offset": 10**20})
    assert answer.status_code == 422 and answer.json()["problems"][0]["field"] == "offset"
    assert answer.json()["problems"][0]["fix"].startswith("Use a value of at most")


def _import(client: TestClient, headers: dict[str, str], text: bytes, **params: Any) -> Any:
    return client.post(
        "/v1/posts/import", headers=headers, params=params, files={"file": ("posts.csv", text, "text/csv")}
    )


def test_csv_with_lone_cr_line_endings_imports(
    client: TestClient, ocma: Ocma, editor: dict[str, str], account_id: str
) -> None:
    answer = _import(client, editor, f"body,accounts\rFirst,{account_id}\rSecond,{account_id}\r".encode())
    assert answer.status_code == 200, answer.text
    assert answer.json()["imported"] == 2 and _posts(ocma) == 2


def test_an_unterminated_quote_is_refused_not_swallowed(
    client: TestClient, ocma: Ocma, editor: dict[str, str], account_id: str
) -> None:
    text = f'body,accounts\nFine,{account_id}\n"Opened and never closed,{account_id}\nThird,{account_id}\n'
    answer = _import(client, editor, text.encode())
    assert answer.status_code == 422
    assert "from line 3" in answer.json()["detail"] and "quote" in answer.json()["fix"]
    assert _posts(ocma) == 0


def test_a_lone_cr_inside_a_row_is_named_not_imported_as_a_draft(
    client: TestClient, ocma: Ocma, editor: dict[str, str], account_id: str
) -> None:
    answer = _import(client, editor, f"body,accounts\nhalf\rof a body,{account_id}\n".encode())
    assert answer.status_code == 422
    assert (
        answer.json()["problems"][0]["row"] == 2
        and "within double quotes" in answer.json()["problems"][0]["message"]
    )
    assert _posts(ocma) == 0


@pytest.mark.parametrize(
    ("text", "detail"),
    [
        (b"body,accounts\n", "no posts"),
        (b"body,accounts\nHello,nobody\n", "Nothing was imported"),
        (b"body,accounts\n\xff\xfe bad bytes,x\n", "not UTF-8"),
    ],
    ids=["header-only", "every-row-invalid", "not-utf8"],
)
def test_an_import_that_imports_nothing_is_a_422(
    client: TestClient, ocma: Ocma, editor: dict[str, str], text: bytes, detail: str
) -> None:
    for partial in (False, True):
        answer = _import(client, editor, text, partial=partial)
        assert answer.status_code == 422, answer.text
        assert detail in answer.json()["detail"] and answer.json()["fix"]
    assert _posts(ocma) == 0


def test_a_time_the_clocks_skip_is_refused_with_both_choices(
    client: TestClient, ocma: Ocma, editor: dict[str, str], account_id: str
) -> None:
    answer = client.post(
        "/v1/posts",
        headers=editor,
        json={
            "body": "Spring forward",
            "account_ids": [account_id],
            "action": "schedule",
            "scheduled_at": "2030-03-31T02:30:00",
            "timezone": "Europe/Berlin",
        },
    )
    assert answer.status_code == 422, answer.text
    assert answer.json()["fix"] == "Choose 2030-03-31T01:30+01:00 or 2030-03-31T03:30+02:00."
    assert answer.json()["problems"][0]["field"] == "scheduled_at"
    assert _posts(ocma) == 0


def test_a_time_the_clocks_pass_twice_is_refused_with_both_offsets(
    client: TestClient, ocma: Ocma, editor: dict[str, str], account_id: str
) -> None:
    """Found by a newcomer: 02:30 on the night the clocks go back was taken silently (as the first pass)."""
    body = {
        "body": "Fall back",
        "account_ids": [account_id],
        "action": "schedule",
        "timezone": "Europe/Berlin",
    }
    answer = client.post("/v1/posts", headers=editor, json={**body, "scheduled_at": "2030-10-27T02:30:00"})
    assert answer.status_code == 422, answer.text
    assert "happens twice" in answer.json()["detail"]
    assert answer.json()["fix"] == "Choose 2030-10-27T02:30+02:00 or 2030-10-27T02:30+01:00."
    assert _posts(ocma) == 0
    chosen = client.post(
        "/v1/posts", headers=editor, json={**body, "scheduled_at": "2030-10-27T02:30:00+01:00"}
    )
    assert chosen.status_code == 201 and chosen.json()["scheduled_at"].startswith("2030-10-27T01:30")


def test_a_draft_keeps_its_planned_time(
    client: TestClient, ocma: Ocma, editor: dict[str, str], account_id: str
) -> None:
    """Found by a newcomer: a draft's scheduled_at was dropped silently; it is the draft's planned time."""
    body = {"body": "Idea", "account_ids": [account_id], "scheduled_at": "2031-01-05T09:00:00+00:00"}
    made = client.post("/v1/posts", headers=editor, json=body)
    assert made.status_code == 201 and made.json()["status"] == "draft"
    assert made.json()["scheduled_at"].startswith("2031-01-05T09:00")
    assert all(t["status"] == "draft" for t in made.json()["targets"])  # nothing queued


def test_a_time_given_as_a_number_is_refused(client: TestClient, editor: dict[str, str]) -> None:
    answer = client.get("/v1/posts", headers=editor, params={"start": "0.5"})
    assert answer.status_code == 422 and answer.json()["problems"][0]["field"] == "start"


def test_an_unreachable_platform_is_named_as_a_network_error(
    client: TestClient, ocma: Ocma, workspace_id: str, plugin_host: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ocma_bluesky

    from ocma_core.registry import clear_caches

    plugin_host.register(ocma_bluesky, name="ocma_bluesky")
    monkeypatch.setenv("OCMA_BLUESKY_API_BASE", f"http://127.0.0.1:{free_port()}")  # nobody listens
    clear_caches()
    admin = {"Authorization": f"Bearer {create_api_key(ocma, workspace_id, role=Role.ADMIN).key}"}
    answer = client.post(
        "/v1/accounts",
        headers=admin,
        json={
            "platform": "bluesky",
            "credentials": {"handle": "a.test", "app_password": "abcd-efgh-ijkl-mnop"},
        },
    )
    assert answer.status_code == 502, answer.text
    problem = answer.json()
    assert problem["title"] == "Platform unreachable"
    assert "ConnectError" in problem["detail"] and "refused the credentials" not in problem["detail"]
    assert "network" in problem["fix"]


@pytest.mark.parametrize("edge", ["start", "end"])
@pytest.mark.parametrize("value", ["2027-01-10T10:00", "2027-01-10"])
def test_a_listing_window_without_offset_is_read_in_the_workspace_zone(
    client: TestClient, editor: dict[str, str], edge: str, value: str
) -> None:
    """Found by a newcomer: `?start=2027-01-10T10:00` was a 500 (a naive time reached a UTC column)."""
    answer = client.get("/v1/posts", headers=editor, params={edge: value})
    assert answer.status_code == 200, answer.text


def test_a_listing_window_in_a_dst_gap_names_its_field(
    ocma: Ocma, workspace_id: str, client: TestClient, editor: dict[str, str]
) -> None:
    from ocma_core.services.workspaces import change_workspace

    change_workspace(ocma, workspace_id, timezone="Europe/Berlin")
    answer = client.get("/v1/posts", headers=editor, params={"start": "2027-03-28T02:30"})
    assert answer.status_code == 422 and answer.json()["problems"][0]["field"] == "start"
    assert "01:30" in answer.json()["fix"] and "03:30" in answer.json()["fix"]
