"""Connecting accounts through the HTTP API and the OAuth callback, and what is stored."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from ocma_core.api.app import create_app
from ocma_core.context import Ocma
from ocma_core.db.models import OAuthState, Role
from ocma_core.db.types import utcnow
from ocma_core.services.workspaces import create_api_key, create_workspace


@pytest.fixture
def client(ocma: Ocma, fake: Any) -> Iterator[TestClient]:
    with TestClient(create_app(ocma, run_worker=False), follow_redirects=False) as c:
        yield c


@pytest.fixture
def admin_key(ocma: Ocma, workspace_id: str) -> str:
    return create_api_key(ocma, workspace_id, name="admin", role=Role.ADMIN).key


def _start_link(client: TestClient, key: str, platform: str = "fakesocial") -> str:
    response = client.get(f"/v1/accounts/connect/{platform}", headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 302, response.text
    link = urlsplit(response.headers["location"])
    assert link.path == f"/oauth/start/{platform}"
    return f"{link.path}?{link.query}"


def _consent_url(browser: TestClient, start_link: str) -> str:
    """Open OCMA's start link in `browser` and follow it to the platform's consent screen."""
    page = browser.get(start_link)
    assert page.status_code == 200, page.text
    found = re.search(r"href='([^']+)'", page.text)
    assert found is not None
    return html.unescape(found.group(1))


def _connect_url(client: TestClient, key: str, platform: str = "fakesocial") -> str:
    return _consent_url(client, _start_link(client, key, platform))


def test_oauth_round_trip_stores_encrypted_tokens_only(
    client: TestClient, ocma: Ocma, admin_key: str, fake: Any
) -> None:
    url = _connect_url(client, admin_key)
    query = parse_qs(urlsplit(url).query)
    assert query["code_challenge_method"] == ["S256"] and query["redirect_uri"][0].endswith(
        "/oauth/callback/fakesocial"
    )
    code, state = fake.authorize(url)
    page = client.get("/oauth/callback/fakesocial", params={"code": code, "state": state})
    assert page.status_code == 200 and "Account connected" in page.text
    listed = client.get("/v1/accounts", headers={"Authorization": f"Bearer {admin_key}"}).json()
    assert [a["handle"] for a in listed] == ["fakeuser"] and listed[0]["status"] == "connected"
    assert "access_token" not in page.text and all("token_enc" not in k for k in listed[0])
    live_tokens = list(fake.state.access) + list(fake.state.refresh)
    with ocma.engine.connect() as conn:
        raw = " ".join(
            str(row)
            for table in ("account", "oauthstate")
            for row in conn.execute(text(f"SELECT * FROM {table}"))
        )
    assert live_tokens and not any(token in raw for token in live_tokens)
    # replaying the same callback is refused and changes nothing
    again = client.get("/oauth/callback/fakesocial", params={"code": code, "state": state})
    assert again.status_code == 400 and "already used" in again.text


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"state": "forged", "code": "x"}, "Unknown authorisation state"),
        ({"state": "", "code": "x"}, "no valid state"),
    ],
)
def test_bad_state_is_refused(client: TestClient, params: dict[str, str], message: str) -> None:
    page = client.get("/oauth/callback/fakesocial", params=params)
    assert page.status_code == 400 and message in page.text


def test_denied_consent_and_wrong_verifier(client: TestClient, ocma: Ocma, admin_key: str, fake: Any) -> None:
    url = _connect_url(client, admin_key)
    _, state = fake.authorize(url, approve=False)
    page = client.get("/oauth/callback/fakesocial", params={"error": "access_denied", "state": state})
    assert page.status_code == 400 and "access_denied" in page.text and "Approve" in page.text
    url = _connect_url(client, admin_key)
    code, state = fake.authorize(url)
    with ocma.session() as s:  # corrupt the stored verifier: the platform's PKCE check must fail
        row = s.get(OAuthState, __import__("hashlib").sha256(state.encode()).hexdigest())
        assert row is not None
        row.verifier_enc = ocma.vault.encrypt("not-the-verifier-" + "x" * 40)
        s.add(row)
    page = client.get("/oauth/callback/fakesocial", params={"code": code, "state": state})
    assert page.status_code == 400 and "PKCE verification failed" in page.text
    assert client.get("/v1/accounts", headers={"Authorization": f"Bearer {admin_key}"}).json() == []


def test_expired_state_and_expired_code(client: TestClient, ocma: Ocma, admin_key: str, fake: Any) -> None:
    url = _connect_url(client, admin_key)
    code, state = fake.authorize(url)
    with ocma.session() as s:
        for row in s.exec(__import__("sqlmodel").select(OAuthState)):
            row.expires_at = utcnow() - timedelta(seconds=1)
            s.add(row)
    page = client.get("/oauth/callback/fakesocial", params={"code": code, "state": state})
    assert page.status_code == 400 and "expired" in page.text
    url = _connect_url(client, admin_key)
    code, state = fake.authorize(url)
    fake.state.codes[code]["issued"] = "0"  # the platform's code lifetime passed
    page = client.get("/oauth/callback/fakesocial", params={"code": code, "state": state})
    assert page.status_code == 400 and "Unknown or expired code" in page.text


def test_unknown_platform_and_missing_client_id(
    client: TestClient, admin_key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ocma_core.registry import clear_caches

    response = client.get("/v1/accounts/connect/myspace", headers={"Authorization": f"Bearer {admin_key}"})
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "Unknown platform 'myspace'" in response.json()["detail"]
    monkeypatch.delenv("OCMA_FAKESOCIAL_CLIENT_ID")
    clear_caches()
    response = client.get("/v1/accounts/connect/fakesocial", headers={"Authorization": f"Bearer {admin_key}"})
    assert response.status_code == 500 and "OCMA_FAKESOCIAL_CLIENT_ID" in response.json()["detail"]


def test_workspace_isolation_is_404(
    client: TestClient, ocma: Ocma, workspace_id: str, account_id: str
) -> None:
    other = create_workspace(ocma, "Other team")
    other_key = create_api_key(ocma, other.id, role=Role.OWNER).key
    mine = create_api_key(ocma, workspace_id, role=Role.VIEWER).key
    assert (
        client.get(f"/v1/accounts/{account_id}", headers={"Authorization": f"Bearer {mine}"}).status_code
        == 200
    )
    response = client.get(f"/v1/accounts/{account_id}", headers={"Authorization": f"Bearer {other_key}"})
    assert response.status_code == 404
    assert client.get("/v1/accounts", headers={"Authorization": f"Bearer {other_key}"}).json() == []


def test_roles_are_enforced(client: TestClient, ocma: Ocma, workspace_id: str, account_id: str) -> None:
    viewer = create_api_key(ocma, workspace_id, role=Role.VIEWER).key
    response = client.post(
        "/v1/posts",
        json={"body": "hi", "account_ids": [account_id]},
        headers={"Authorization": f"Bearer {viewer}"},
    )
    assert response.status_code == 403 and "editor" in response.json()["detail"]
    assert client.get("/v1/accounts", headers={"Authorization": "Bearer ocma_nope"}).status_code == 401
    assert client.get("/v1/accounts").status_code == 401


def test_test_connection_and_disconnect(client: TestClient, admin_key: str, account_id: str) -> None:
    auth = {"Authorization": f"Bearer {admin_key}"}
    assert client.post(f"/v1/accounts/{account_id}/test", headers=auth).json()["handle"] == "fakeuser"
    assert client.delete(f"/v1/accounts/{account_id}", headers=auth).json()["status"] == "disconnected"


def test_start_link_names_the_workspace_and_binds_the_first_browser(
    client: TestClient, ocma: Ocma, admin_key: str, fake: Any
) -> None:
    link = _start_link(client, admin_key)
    page = client.get(link)
    assert "Connect a" in page.text and "“Test team”" in page.text
    assert page.headers["cache-control"] == "no-store" and page.headers["referrer-policy"] == "no-referrer"
    cookie = page.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/oauth" in cookie
    with TestClient(client.app, follow_redirects=False) as stranger:
        refused = stranger.get(link)
    assert refused.status_code == 400 and "another browser" in refused.text
    assert client.get(link).status_code == 200  # the same browser may open it again


def test_a_consent_link_finished_in_another_browser_connects_nothing(
    client: TestClient, ocma: Ocma, admin_key: str, fake: Any
) -> None:
    """The login-CSRF path: someone sends their connect link to a victim, who approves with their own account."""
    code, state = fake.authorize(_connect_url(client, admin_key))
    with TestClient(client.app, follow_redirects=False) as victim:
        page = victim.get("/oauth/callback/fakesocial", params={"code": code, "state": state})
    assert page.status_code == 400 and "not started in this browser" in page.text
    assert client.get("/v1/accounts", headers={"Authorization": f"Bearer {admin_key}"}).json() == []
    # refused without using the state up: the person who started it can still finish
    page = client.get("/oauth/callback/fakesocial", params={"code": code, "state": state})
    assert page.status_code == 200 and "Account connected" in page.text


def test_a_state_never_opened_through_the_start_link_is_refused(
    client: TestClient, ocma: Ocma, workspace_id: str, fake: Any
) -> None:
    from ocma_core.services import accounts

    code, state = fake.authorize(accounts.start_connect(ocma, workspace_id, "fakesocial"))
    page = client.get("/oauth/callback/fakesocial", params={"code": code, "state": state})
    assert page.status_code == 400 and "not started in this browser" in page.text


def test_json_format_returns_the_start_link(client: TestClient, admin_key: str) -> None:
    response = client.get(
        "/v1/accounts/connect/fakesocial",
        params={"format": "json"},
        headers={"Authorization": f"Bearer {admin_key}"},
    )
    assert response.status_code == 200
    assert urlsplit(response.json()["authorize_url"]).path == "/oauth/start/fakesocial"
