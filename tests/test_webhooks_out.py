"""Outbound webhooks: the request-forgery guard, Standard Webhooks signatures (checked against the spec's
test vector and an independent verification), retries while a receiver is down (each event delivered, any
repeat with the same webhook-id), no retry on 4xx, auto-disable with an event, rotation, and the API."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from webhook_receiver import Receiver, verify

from ocma_core import webhook_delivery, webhook_sender
from ocma_core.api.app import create_app
from ocma_core.context import Ocma
from ocma_core.db.models import Role
from ocma_core.db.types import utcnow
from ocma_core.eventlog import read
from ocma_core.events import Event, dispatch, record
from ocma_core.net.policy import FetchRefused
from ocma_core.services import webhooks
from ocma_core.services.workspaces import create_api_key


@pytest.fixture
def receiver(monkeypatch: pytest.MonkeyPatch) -> Iterator[Receiver]:
    monkeypatch.setenv("OCMA_WEBHOOKS_ALLOW_PRIVATE", "1")
    monkeypatch.setattr(webhook_delivery, "RETRY_DELAYS", (0.0, 0.0, 0.0))
    with Receiver() as found:
        yield found


def _event(ocma: Ocma, workspace_id: str, n: int) -> Event:
    event = Event("post.published", workspace_id, {"post_id": f"p{n}", "targets": []})
    with ocma.session() as session:
        record(session, event)
    dispatch(event, ocma)
    return event


def test_the_spec_test_vector_signs_alike() -> None:
    secret, msg_id, stamp = (
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "msg_p5jXN8AQM9LWM0D4loKWxJek",
        1614265330,
    )
    signature = webhook_delivery.sign(secret, msg_id, stamp, b'{"test": 2432232314}')
    assert signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    from standardwebhooks import Webhook as Signer  # the reference library signs the same

    body = '{"type":"x","data":{"text":"é ✓"}}'
    expected = Signer(secret).sign("msg_2", datetime.fromtimestamp(stamp, UTC), body)
    assert webhook_delivery.sign(secret, "msg_2", stamp, body.encode()) == expected


def test_loopback_is_refused_unless_the_operator_allows_it(
    ocma: Ocma, workspace_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OCMA_WEBHOOKS_ALLOW_PRIVATE", raising=False)
    monkeypatch.delenv("OCMA_FETCH_ALLOW_PRIVATE", raising=False)
    for url in ("http://127.0.0.1:9/hook", "http://169.254.169.254/latest", "http://10.0.0.1/x", "ftp://a/b"):
        with pytest.raises(FetchRefused):
            webhooks.create_webhook(ocma, workspace_id, url, [])
    monkeypatch.setenv("OCMA_WEBHOOKS_ALLOW_PRIVATE", "1")
    webhooks.create_webhook(ocma, workspace_id, "http://127.0.0.1:9/hook", [])
    with pytest.raises(FetchRefused):  # metadata addresses stay refused
        webhooks.create_webhook(ocma, workspace_id, "http://169.254.169.254/latest", [])


def test_signed_delivery_of_the_wanted_kinds(ocma: Ocma, workspace_id: str, receiver: Receiver) -> None:
    made = webhooks.create_webhook(ocma, workspace_id, receiver.url, ["post.published"])
    assert made.secret.startswith("whsec_")
    other = Event("post.scheduled", workspace_id, {"post_id": "x", "scheduled_at": utcnow().isoformat()})
    with ocma.session() as session:
        record(session, other)
    event = _event(ocma, workspace_id, 1)
    assert webhook_delivery.run(ocma) == 1
    [got] = receiver.received
    assert verify(made.secret, got["headers"], got["body"])
    from standardwebhooks import Webhook as Verifier  # what a receiver would use: the reference library

    headers = {k.lower(): v for k, v in got["headers"].items()}
    assert Verifier(made.secret).verify(got["body"], headers)["seq"] == event.seq
    body = json.loads(got["body"])
    assert body["type"] == "post.published" and body["seq"] == event.seq and body["data"]["post_id"] == "p1"
    [row] = webhooks.deliveries(ocma, workspace_id, made.webhook.id)
    assert row.status == "delivered" and row.response_status == 200 and row.response_body == "ok"
    assert got["headers"]["webhook-id"] == row.id


def test_a_receiver_down_for_a_while_gets_everything_once(
    ocma: Ocma, workspace_id: str, receiver: Receiver
) -> None:
    made = webhooks.create_webhook(ocma, workspace_id, receiver.url, [])
    receiver.answers = [503, 503, 502]
    for i in range(3):
        _event(ocma, workspace_id, i)
    for _ in range(4):
        webhook_delivery.run(ocma)
    ok = [r for r in receiver.received if r["status"] == 200]
    by_id: dict[str, set[str]] = {}
    for r in receiver.received:
        by_id.setdefault(json.loads(r["body"])["id"], set()).add(r["headers"]["webhook-id"])
    assert len(ok) == 3 and len(by_id) == 3
    assert all(len(ids) == 1 for ids in by_id.values())  # a repeat is always the same webhook-id
    rows = webhooks.deliveries(ocma, workspace_id, made.webhook.id)
    assert sorted(r.status for r in rows) == ["delivered"] * 3


def test_4xx_is_not_retried_and_persistent_failure_disables(
    ocma: Ocma, workspace_id: str, receiver: Receiver
) -> None:
    made = webhooks.create_webhook(ocma, workspace_id, receiver.url, ["post.published"])
    receiver.answers = [400]
    _event(ocma, workspace_id, 1)
    webhook_delivery.run(ocma)
    webhook_delivery.run(ocma)
    assert len(receiver.received) == 1
    assert webhooks.deliveries(ocma, workspace_id, made.webhook.id)[0].status == "failed"
    assert webhooks.get_webhook(ocma, workspace_id, made.webhook.id).enabled
    receiver.default = 500
    _event(ocma, workspace_id, 2)
    for _ in range(5):
        webhook_delivery.run(ocma)
    assert len(receiver.received) == 1 + 4  # the first try and three retries
    hook = webhooks.get_webhook(ocma, workspace_id, made.webhook.id)
    assert not hook.enabled and hook.disabled_reason
    assert [e.payload["webhook_id"] for e in read(ocma, workspace_id) if e.kind == "webhook.disabled"] == [
        made.webhook.id
    ]


def test_rotation_signs_with_both_secrets_for_a_while(
    ocma: Ocma, workspace_id: str, receiver: Receiver
) -> None:
    made = webhooks.create_webhook(ocma, workspace_id, receiver.url, [])
    rotated = webhooks.update_webhook(ocma, workspace_id, made.webhook.id, {}, rotate=True)
    assert isinstance(rotated, webhooks.WithSecret) and rotated.secret != made.secret
    _event(ocma, workspace_id, 1)
    webhook_delivery.run(ocma)
    [got] = receiver.received
    assert verify(made.secret, got["headers"], got["body"]) and verify(
        rotated.secret, got["headers"], got["body"]
    )
    assert len(got["headers"]["webhook-signature"].split(" ")) == 2


def test_the_api_shows_the_secret_once_and_the_delivery_log(
    ocma: Ocma, workspace_id: str, receiver: Receiver
) -> None:
    admin = {"Authorization": f"Bearer {create_api_key(ocma, workspace_id, role=Role.ADMIN).key}"}
    editor = {"Authorization": f"Bearer {create_api_key(ocma, workspace_id, role=Role.EDITOR).key}"}
    with TestClient(create_app(ocma, run_worker=False)) as client:
        assert client.get("/v1/webhooks", headers=editor).status_code == 403
        made = client.post("/v1/webhooks", headers=admin, json={"url": receiver.url, "events": []})
        assert made.status_code == 201 and made.json()["secret"].startswith("whsec_")
        hook_id = made.json()["id"]
        listed = client.get("/v1/webhooks", headers=admin).json()
        assert [h["id"] for h in listed] == [hook_id] and "secret" not in listed[0]
        ping = client.post(f"/v1/webhooks/{hook_id}/ping", headers=admin).json()
        assert ping["status"] == "delivered" and ping["response_status"] == 200
        log: list[dict[str, Any]] = client.get(f"/v1/webhooks/{hook_id}/deliveries", headers=admin).json()
        assert [d["kind"] for d in log] == ["webhook.ping"]
        again = client.post(
            f"/v1/webhooks/{hook_id}/redeliver", headers=admin, json={"delivery_id": log[0]["id"]}
        )
        assert again.json() == {"queued": 1}
        webhook_delivery.run(ocma)
        assert [r["headers"]["webhook-id"] for r in receiver.received] == [log[0]["id"]] * 2
        changed = client.patch(f"/v1/webhooks/{hook_id}", headers=admin, json={"enabled": False})
        assert changed.json()["enabled"] is False
        assert client.delete(f"/v1/webhooks/{hook_id}", headers=admin).status_code == 204
        assert client.get(f"/v1/webhooks/{hook_id}", headers=admin).status_code == 404


class _Dribbler:
    """A receiver that answers a byte at a time, 20 ms apart (each read well within the per-phase timeout),
    until the sender hangs up or 500 bytes are out."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/hook"
        self.hung_up = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        conn, _ = self.sock.accept()
        with conn:
            conn.recv(65536)
            answer = b"HTTP/1.1 200 OK\r\ncontent-length: 400\r\n\r\n" + b"x" * 400
            try:
                for byte in answer:
                    conn.sendall(bytes([byte]))
                    time.sleep(0.02)
            except OSError:
                self.hung_up.set()

    def close(self) -> None:
        self.sock.close()


def test_a_receiver_dribbling_its_answer_is_cut_at_the_deadline(
    ocma: Ocma, workspace_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OCMA_WEBHOOKS_ALLOW_PRIVATE", "1")
    monkeypatch.setattr(webhook_sender, "DEADLINE_S", 0.3)  # each byte comes well within TIMEOUT_S
    dribbler = _Dribbler()
    try:
        made = webhooks.create_webhook(ocma, workspace_id, dribbler.url, ["post.published"])
        _event(ocma, workspace_id, 1)
        assert webhook_delivery.run(ocma) == 1
        [row] = webhooks.deliveries(ocma, workspace_id, made.webhook.id)
        assert row.status == "pending" and row.response_status is None  # a timeout: tried again later
        assert row.last_error is not None and row.last_error.startswith("timeout:")
        assert "deadline" in row.last_error and row.attempts == 1
        assert dribbler.hung_up.wait(10)  # the sender closed the connection
    finally:
        dribbler.close()
