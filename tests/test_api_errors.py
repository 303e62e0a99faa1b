"""Errors a client can act on: a catch-all 500 as problem+json, body caps, validation that names the field."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from live_server import live_server, raw_exchange

from ocma_core.api.app import create_app
from ocma_core.context import Ocma
from ocma_core.db.models import Role
from ocma_core.services.workspaces import create_api_key


def _broken_app(ocma: Ocma) -> FastAPI:
    app = create_app(ocma, run_worker=False)

    def explode() -> None:
        raise RuntimeError("a bug in a route")

    app.add_api_route("/v1/explode", explode, methods=["GET"])
    return app


@pytest.fixture
def client(ocma: Ocma) -> Iterator[TestClient]:
    with TestClient(create_app(ocma, run_worker=False)) as c:
        yield c


@pytest.fixture
def viewer(ocma: Ocma, workspace_id: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {create_api_key(ocma, workspace_id, role=Role.VIEWER).key}"}


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_unhandled_error_is_problem_json_counted_logged_and_keeps_the_connection(
    ocma: Ocma, caplog: pytest.LogCaptureFixture
) -> None:
    request = b"GET /v1/explode HTTP/1.1\r\nHost: t\r\nX-Request-ID: req-42\r\n\r\n"
    health = b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n"
    with caplog.at_level(logging.ERROR, logger="ocma.api"), live_server(_broken_app(ocma)) as url:
        failed, after = raw_exchange(url, [request, health])  # one keep-alive connection
        metrics = raw_exchange(url, [b"GET /metrics HTTP/1.1\r\nHost: t\r\n\r\n"])[0].decode()
    head, body = failed.split(b"\r\n\r\n", 1)
    assert head.startswith(b"HTTP/1.1 500")
    assert b"content-type: application/problem+json" in head.lower()
    assert b"x-request-id: req-42" in head.lower()
    problem = json.loads(body)
    assert problem["status"] == 500 and problem["request_id"] == "req-42"
    assert "req-42" in problem["fix"]
    assert after.startswith(b"HTTP/1.1 200")
    assert 'ocma_http_unhandled_errors_total{method="GET",route="/v1/explode"} 1.0' in metrics
    assert 'ocma_http_requests_total{method="GET",route="/v1/explode",status="500"} 1.0' in metrics
    logged = [r for r in caplog.records if "req-42" in r.getMessage()]
    assert logged
    record = logged[0]  # OCMA's redacting filter, when installed, turns exc_info into redacted exc_text
    trace = record.exc_text or (
        logging.Formatter().formatException(record.exc_info) if record.exc_info else ""
    )
    assert "Traceback" in trace and "RuntimeError: a bug in a route" in trace


def test_every_response_carries_a_request_id(client: TestClient, viewer: dict[str, str]) -> None:
    missing = client.get("/v1/posts/nope", headers=viewer)
    assert missing.status_code == 404
    assert missing.json()["request_id"] == missing.headers["x-request-id"]
    bogus = client.get("/healthz", headers={"X-Request-ID": "has spaces and\ttabs"})
    assert (
        bogus.headers["x-request-id"] != "has spaces and\ttabs" and len(bogus.headers["x-request-id"]) == 32
    )


def test_a_body_over_the_cap_is_refused_before_it_is_read(client: TestClient, viewer: dict[str, str]) -> None:
    big = json.dumps({"platform": "fakesocial", "text": "x" * (3 * 1024 * 1024)})
    refused = client.post(
        "/v1/posts/check", headers={**viewer, "Content-Type": "application/json"}, content=big
    )
    assert refused.status_code == 413
    assert refused.headers["content-type"] == "application/problem+json"
    assert "2 MiB" in refused.json()["detail"] and refused.json()["fix"]


def test_a_chunked_body_over_the_cap_is_refused(client: TestClient, viewer: dict[str, str]) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"platform": "fakesocial", "text": "'
        for _ in range(40):
            yield b"y" * 65536
        yield b'"}'

    refused = client.post(
        "/v1/posts/check", headers={**viewer, "Content-Type": "application/json"}, content=chunks()
    )
    assert refused.status_code == 413 and refused.json()["status"] == 413


def test_check_refuses_text_longer_than_any_post(client: TestClient, viewer: dict[str, str]) -> None:
    long = client.post(
        "/v1/posts/check", headers=viewer, json={"platform": "fakesocial", "text": "z" * 100_001}
    )
    assert long.status_code == 422
    assert long.json()["problems"][0]["field"] == "text"


def test_validation_keeps_the_field_name_body_and_says_how_to_fix_it(
    client: TestClient, ocma: Ocma, workspace_id: str
) -> None:
    editor = {"Authorization": f"Bearer {create_api_key(ocma, workspace_id, role=Role.EDITOR).key}"}
    answer = client.post("/v1/posts", headers=editor, json={"body": "b" * 100_001})
    assert answer.status_code == 422
    problem = answer.json()
    assert problem["problems"] == [
        {
            "field": "body",
            "in": "body",
            "message": "String should have at most 100000 characters",
            "fix": "Shorten body to at most 100000 characters.",
        }
    ]
    assert problem["detail"].startswith("body: ") and problem["fix"]
    schedule = client.post("/v1/posts", headers=editor, json={"body": "hi", "action": "schedule"})
    assert schedule.status_code == 422
    assert schedule.json()["problems"][0]["field"] == "action"
    assert "scheduled_at" in schedule.json()["problems"][0]["message"]


def test_405_lists_every_method_of_the_resource(client: TestClient, viewer: dict[str, str]) -> None:
    posts = client.delete("/v1/posts", headers=viewer)
    assert posts.status_code == 405 and posts.headers["allow"] == "GET, POST"
    check = client.delete("/v1/posts/check", headers=viewer)  # its own resource; /v1/posts/{id} matches too
    assert check.status_code == 405 and check.headers["allow"] == "POST"


def test_an_id_left_out_is_a_404_not_a_redirect(client: TestClient, viewer: dict[str, str]) -> None:
    answer = client.get("/v1/media/", headers=viewer, follow_redirects=False)
    assert answer.status_code == 404 and answer.json()["detail"] == "Nothing is at /v1/media/."


def test_docs_are_served_without_a_cdn(client: TestClient) -> None:
    page = client.get("/docs").text
    assert "cdn" not in page.lower() and "/docs/assets/swagger-ui-bundle.js" in page
    assert client.get("/docs/assets/swagger-ui-bundle.js").status_code == 200
    assert client.get("/docs/assets/swagger-ui.css").status_code == 200


def test_every_error_in_the_openapi_document_is_problem_json(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    errors = [
        (path, method, code, response)
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
        for code, response in operation["responses"].items()
        if int(code) >= 400 and (path, code) != ("/readyz", "503")
    ]
    assert errors
    assert all(list(r["content"]) == ["application/problem+json"] for *_, r in errors)
    approve = document["paths"]["/v1/posts/{post_id}/approve"]["post"]["responses"]
    assert {"401", "403", "404", "409", "422", "500"} <= set(approve)
    assert "403" not in document["paths"]["/v1/posts"]["get"]["responses"]  # any key may read
    assert "HTTPValidationError" not in document["components"]["schemas"]


def test_check_refuses_a_thread_longer_than_any_post(client: TestClient, viewer: dict[str, str]) -> None:
    parts = ["p" * 40_000] * 3
    answer = client.post(
        "/v1/posts/check", headers=viewer, json={"platform": "fakesocial", "text": "t", "thread": parts}
    )
    assert answer.status_code == 422 and answer.json()["problems"][0]["field"] == "thread"
    assert "at most 100000" in answer.json()["problems"][0]["message"]


def test_the_bare_address_points_to_the_docs(client: TestClient) -> None:
    """Found by a newcomer: http://127.0.0.1:8000/ was a bare 404."""
    answer = client.get("/")
    assert answer.status_code == 200 and answer.json()["docs"] == "/docs"
