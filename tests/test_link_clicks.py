"""POST /webhooks/analytics: Standard Webhooks deliveries (signed with the reference library) verified against
the workspace's secret, stored once per webhook-id, all-or-nothing validation naming the field, attribution by
post id and by utm_content, clicks per campaign and day, and where they are shown (both databases)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from standardwebhooks import Webhook

from ocma_core.api.app import create_app
from ocma_core.clicks import link_clicks
from ocma_core.clicks.secret import hook_status, make_secret, remove_secret
from ocma_core.context import Ocma
from ocma_core.db.types import utcnow
from ocma_core.errors import ConflictError
from ocma_core.eventlog import read
from ocma_core.plugins import PluginHost, reset_host
from ocma_core.services.post_input import PostInput
from ocma_core.services.posts import create_post

URL = "https://shop.example/spring?utm_source=fakesocial&utm_medium=social&utm_campaign=spring"


@pytest.fixture
def clicks_host(plugin_host: PluginHost) -> PluginHost:
    """The example platform and the built-in click receiver (a default plugin)."""
    plugin_host.register(link_clicks, name="link_clicks")
    reset_host(plugin_host)
    return plugin_host


@pytest.fixture
def client(ocma: Ocma, clicks_host: PluginHost) -> Iterator[TestClient]:
    with TestClient(create_app(ocma, run_worker=False)) as found:
        yield found


def signed(secret: str, body: bytes, msg_id: str = "msg_1", at: int | None = None) -> dict[str, str]:
    """Headers as a Standard Webhooks sender makes them, with the reference library."""
    stamp = int(time.time()) if at is None else at
    signature = Webhook(secret).sign(msg_id, datetime.fromtimestamp(stamp, UTC), body.decode())
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(stamp),
        "webhook-signature": signature,
        "content-type": "application/json",
    }


def deliver(client: TestClient, secret: str, payload: Any, msg_id: str = "msg_1", **kw: Any) -> Any:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return client.post("/webhooks/analytics", content=body, headers=signed(secret, body, msg_id, **kw))


def at(days_ago: int = 0, hour: int = 12) -> str:
    """Return an ISO time `days_ago` days back at `hour`, never later than now (clicks from the future are refused)."""
    now = utcnow()
    day = (now - timedelta(days=days_ago)).date()
    hour = min(hour, now.hour) if days_ago == 0 else hour
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC).isoformat()


def draft(ocma: Ocma, workspace_id: str, text: str = "Spring sale") -> str:
    return create_post(ocma, workspace_id, PostInput(body=text)).id


def test_a_signed_delivery_is_stored_once_and_attributed(
    ocma: Ocma, workspace_id: str, client: TestClient
) -> None:
    secret = make_secret(ocma, workspace_id).secret
    post_a, post_b = draft(ocma, workspace_id), draft(ocma, workspace_id, "Other")
    payload = {
        "events": [
            {"url": URL, "occurred_at": at(), "count": 3, "post_id": post_a},
            {"url": URL + f"&utm_content={post_b}", "occurred_at": at()},
            {"url": URL, "occurred_at": at(), "utm_content": post_b, "count": 2},
            {"url": URL, "occurred_at": at(), "utm_content": "banner-1"},  # campaign only
        ]
    }
    first = deliver(client, secret, payload)
    assert first.status_code == 200, first.text
    assert first.json() == {
        "received": True,
        "duplicate": False,
        "events": 4,
        "clicks": 7,
        "attributed": 6,
        "posts": sorted([post_a, post_b]),
    }
    # the sender retrying (same webhook-id, signed again later): nothing is counted twice
    again = deliver(client, secret, payload)
    assert again.status_code == 200 and again.json()["duplicate"] is True
    more = deliver(
        client, secret, {"events": [{"url": URL, "occurred_at": at(), "post_id": post_a}]}, "msg_2"
    )
    assert more.json()["clicks"] == 1
    from ocma_core.clicks.views import post_clicks

    shown = post_clicks(ocma, workspace_id, post_a)
    assert shown["link_clicks"] == 4 and shown["measured"] is True
    assert [s["values"] for s in shown["snapshots"]] == [{"link_clicks": 3}, {"link_clicks": 4}]
    assert shown["by_utm"] == [
        {"utm_campaign": "spring", "utm_source": "fakesocial", "utm_medium": "social", "clicks": 4}
    ]
    assert post_clicks(ocma, workspace_id, post_b)["link_clicks"] == 3
    updates = [e.payload for e in read(ocma, workspace_id) if e.kind == "metrics.updated"]
    assert [(u["post_id"], u["values"], u["delta"]) for u in updates if u["post_id"] == post_a] == [
        (post_a, {"link_clicks": 3}, {}),
        (post_a, {"link_clicks": 4}, {"link_clicks": 1}),
    ]
    assert all(u["scope"] == "link_clicks" for u in updates)
    assert hook_status(ocma, workspace_id)["last_delivery_at"] is not None


def test_the_event_payload_follows_its_schema(ocma: Ocma, workspace_id: str, client: TestClient) -> None:
    import jsonschema

    from ocma_core.event_kinds import SCHEMAS

    secret = make_secret(ocma, workspace_id).secret
    post_id = draft(ocma, workspace_id)
    deliver(client, secret, {"events": [{"url": URL, "occurred_at": at(), "post_id": post_id}]})
    [update] = [e.payload for e in read(ocma, workspace_id) if e.kind == "metrics.updated"]
    schema = SCHEMAS["metrics.updated"][1]
    jsonschema.validate(update, schema)
    with pytest.raises(jsonschema.ValidationError):  # platform readings still need their account
        jsonschema.validate({"scope": "post", "values": {}, "delta": {}}, schema)


def _counted(outcome: str) -> float:
    from ocma_core.observe.instruments import REGISTRY

    labels = {"platform": "analytics", "outcome": outcome}
    return REGISTRY.get_sample_value("ocma_webhook_deliveries_total", labels) or 0.0


def test_forged_stale_and_unknown_deliveries_are_refused(
    ocma: Ocma, workspace_id: str, client: TestClient
) -> None:
    before = {o: _counted(o) for o in ("stored", "bad_signature", "refused")}
    payload = {"events": [{"url": URL, "occurred_at": at()}]}
    assert deliver(client, "whsec_" + "A" * 43, payload).status_code == 503  # no workspace takes clicks
    secret = make_secret(ocma, workspace_id).secret
    other = make_secret(ocma, draft_workspace(ocma)).secret
    refused = deliver(client, secret, payload)
    assert refused.status_code == 400 and "ocma-workspace" in refused.json()["detail"]
    body = json.dumps(payload).encode()

    def post(headers: dict[str, str], content: bytes = body) -> Any:
        return client.post(
            "/webhooks/analytics", content=content, headers={**headers, "ocma-workspace": workspace_id}
        )

    assert post(signed(secret, body)).status_code == 200
    assert post(signed(other, body, "msg_x")).status_code == 401  # another workspace's secret
    tampered = post(signed(secret, body, "msg_y"), body.replace(b"spring", b"autumn"))
    assert tampered.status_code == 401 and "signature" in tampered.json()["detail"]
    stale = post(signed(secret, body, "msg_z", at=int(time.time()) - 600))
    assert stale.status_code == 401 and "tolerance" in stale.json()["detail"]
    future = post(signed(secret, body, "msg_f", at=int(time.time()) + 600))
    assert future.status_code == 401
    for broken in (
        {"webhook-signature": "v1"},
        {"webhook-signature": "v1,not base64!"},
        {"webhook-signature": "v2,abc"},
        {"webhook-timestamp": "1e9"},
        {"webhook-timestamp": "nan"},
        {"webhook-id": ""},
        {"webhook-id": "x" * 300},
    ):
        answer = post({**signed(secret, body, "msg_b"), **broken})
        assert answer.status_code == 401, (broken, answer.text)
    not_utf8 = b'{"events": "\xff"}'
    assert post(signed(secret, body, "msg_u"), not_utf8).status_code == 401
    wrong = client.post(
        "/webhooks/analytics", content=body, headers={**signed(secret, body, "m"), "ocma-workspace": "nope"}
    )
    assert wrong.status_code == 401
    assert _stored_clicks(ocma) == 1  # only the one genuine delivery
    counted = {o: _counted(o) - n for o, n in before.items()}
    assert counted == {"stored": 1.0, "bad_signature": 12.0, "refused": 3.0}  # what the operator's alert sees


def draft_workspace(ocma: Ocma) -> str:
    from ocma_core.services.workspaces import create_workspace

    return create_workspace(ocma, "Second", timezone="UTC", owner_email="two@example.com").id


def _stored_clicks(ocma: Ocma) -> int:
    from sqlalchemy import func
    from sqlmodel import select

    from ocma_core.db.click_models import ClickDay

    with ocma.session() as session:
        return int(session.exec(select(func.coalesce(func.sum(ClickDay.clicks), 0))).one())


@pytest.mark.parametrize(
    ("event", "field"),
    [
        ({"occurred_at": "2026-12-01T10:00:00Z"}, "events[0].url"),
        ({"url": "ftp://x.example/a", "occurred_at": "2026-12-01T10:00:00Z"}, "events[0].url"),
        ({"url": "https://x.example/" + "a" * 3000, "occurred_at": "2026-12-01T10:00:00Z"}, "events[0].url"),
        ({"url": "https://x.example/a b", "occurred_at": "2026-12-01T10:00:00Z"}, "events[0].url"),
        ({"url": URL}, "events[0].occurred_at"),
        ({"url": URL, "occurred_at": "yesterday"}, "events[0].occurred_at"),
        ({"url": URL, "occurred_at": "2026-12-01T10:00:00"}, "events[0].occurred_at"),
        ({"url": URL, "occurred_at": "2999-01-01T00:00:00Z"}, "events[0].occurred_at"),
        ({"url": URL, "occurred_at": 1764763200}, "events[0].occurred_at"),
        ({"url": URL, "occurred_at": "2026-12-01T10:00:00Z", "count": 0}, "events[0].count"),
        ({"url": URL, "occurred_at": "2026-12-01T10:00:00Z", "count": 2.5}, "events[0].count"),
        ({"url": URL, "occurred_at": "2026-12-01T10:00:00Z", "count": True}, "events[0].count"),
        ({"url": URL, "occurred_at": "2026-12-01T10:00:00Z", "count": 10**12}, "events[0].count"),
        (
            {"url": URL, "occurred_at": "2026-12-01T10:00:00Z", "utm_campaign": "x" * 101},
            "events[0].utm_campaign",
        ),
        ({"url": URL, "occurred_at": "2026-12-01T10:00:00Z", "utm_source": 7}, "events[0].utm_source"),
        ({"url": URL, "occurred_at": "2026-12-01T10:00:00Z", "utm_medium": "a\tb"}, "events[0].utm_medium"),
        (
            {"url": URL + "&utm_content=%00x", "occurred_at": "2026-12-01T10:00:00Z"},
            "events[0].url (utm_content)",
        ),
        ({"url": URL, "occurred_at": "2026-12-01T10:00:00Z", "post_id": "../x"}, "events[0].post_id"),
        ({"url": URL, "occurred_at": "2026-12-01T10:00:00Z", "post_id": "0" * 32}, "events[0].post_id"),
        ({"url": URL, "occurred_at": "2026-12-01T10:00:00Z", "utm_campain": "typo"}, "events[0].utm_campain"),
    ],
)
def test_malformed_fields_are_refused_naming_the_field(
    ocma: Ocma, workspace_id: str, client: TestClient, event: dict[str, Any], field: str
) -> None:
    secret = make_secret(ocma, workspace_id).secret
    good = {"url": URL, "occurred_at": at()}
    answer = deliver(client, secret, {"events": [good, event]}, "msg_bad")
    assert answer.status_code == 422, answer.text
    assert field.replace("[0]", "[1]") + ":" in answer.json()["detail"]
    assert _stored_clicks(ocma) == 0  # all or nothing: the good event was not stored either
    # the same id is not burnt by a refused delivery: the corrected one is taken
    assert deliver(client, secret, {"events": [good]}, "msg_bad").json()["clicks"] == 1


@pytest.mark.parametrize(
    "payload",
    [b"not json", b"[]", b'{"events": []}', b'{"events": {}}', b'{"events": [1]}', b'{"events": [], "x": 1}'],
)
def test_bodies_that_are_not_a_batch_are_refused(
    ocma: Ocma, workspace_id: str, client: TestClient, payload: bytes
) -> None:
    secret = make_secret(ocma, workspace_id).secret
    answer = deliver(client, secret, payload)
    assert answer.status_code == 422 and "nothing stored" in answer.json()["detail"]


def test_nul_and_huge_deliveries(ocma: Ocma, workspace_id: str, client: TestClient) -> None:
    secret = make_secret(ocma, workspace_id).secret
    nul = {"events": [{"url": URL, "occurred_at": at(), "utm_campaign": "a\u0000b"}]}
    answer = deliver(client, secret, nul)
    assert answer.status_code == 422 and "utm_campaign" in answer.text
    many = {"events": [{"url": URL, "occurred_at": at()}] * 1001}
    answer = deliver(client, secret, many, "msg_many")
    assert answer.status_code == 422 and "1 to 1000" in answer.json()["detail"]
    huge = b'{"events": [{"url": "' + b"a" * 1_100_000 + b'"}]}'
    assert deliver(client, secret, huge, "msg_huge").status_code == 413
    assert _stored_clicks(ocma) == 0


def test_clicks_per_campaign_add_up_over_days(ocma: Ocma, workspace_id: str, client: TestClient) -> None:
    from ocma_core.analytics.periods import parse_period
    from ocma_core.clicks.views import campaigns

    secret = make_secret(ocma, workspace_id).secret
    post_id = draft(ocma, workspace_id)
    days = [
        {"url": URL, "occurred_at": at(1), "count": 2},
        {"url": URL, "occurred_at": at(1), "count": 3, "utm_content": post_id},
        {"url": URL, "occurred_at": at(2), "utm_source": "newsletter"},
        {"url": "https://shop.example/?utm_campaign=autumn", "occurred_at": at(3), "count": 4},
        {"url": "https://shop.example/plain", "occurred_at": at(3)},
        {"url": URL, "occurred_at": at(40), "count": 100},  # outside the period
    ]
    assert deliver(client, secret, {"events": days[:3]}, "d1").status_code == 200
    assert deliver(client, secret, {"events": days[3:]}, "d2").status_code == 200
    assert deliver(client, secret, {"events": days[:1]}, "d3").status_code == 200  # a later delivery
    found = campaigns(ocma, workspace_id, parse_period("last-10-days", "Europe/Berlin"))
    assert found["total"] == 13
    spring, autumn, none = found["campaigns"]
    assert spring["utm_campaign"] == "spring" and spring["clicks"] == 8
    assert spring["by_source"] == {"fakesocial": 7, "newsletter": 1}
    assert spring["posts"] == [post_id] and spring["attributed_to_posts"] == 3
    assert len(spring["days"]) == 2
    assert (autumn["utm_campaign"], autumn["clicks"]) == ("autumn", 4)
    assert (none["utm_campaign"], none["clicks"]) == (None, 1)
    assert "13 link clicks" in found["summary"]


def test_without_a_receiver_clicks_are_not_measured_not_zero(
    ocma: Ocma, workspace_id: str, clicks_host: PluginHost
) -> None:
    from ocma_core.analytics import reports
    from ocma_core.analytics.periods import parse_period
    from ocma_core.clicks.views import campaigns, post_clicks

    found = campaigns(ocma, workspace_id, parse_period("last-week"))
    assert found["measured"] is False and found["total"] is None
    assert "not measured" in found["summary"]
    assert post_clicks(ocma, workspace_id, draft(ocma, workspace_id))["link_clicks"] is None
    section = reports.build_report(ocma, workspace_id, "last-week")["sections"]["clicks"]
    assert section["total"] is None and "not measured" in section["summary"]
    make_secret(ocma, workspace_id)
    section = reports.build_report(ocma, workspace_id, "last-week")["sections"]["clicks"]
    assert section["total"] == 0 and section["summary"].startswith("No link clicks recorded")


def test_secret_is_made_once_rotated_with_overlap_and_removed(
    ocma: Ocma, workspace_id: str, client: TestClient
) -> None:
    old = make_secret(ocma, workspace_id).secret
    assert old.startswith("whsec_")
    with pytest.raises(ConflictError):
        make_secret(ocma, workspace_id)
    rotated = make_secret(ocma, workspace_id, rotate=True)
    assert rotated.rotated and rotated.secret != old and rotated.previous_valid_until is not None
    payload = {"events": [{"url": URL, "occurred_at": at()}]}
    assert deliver(client, old, payload, "r1").status_code == 200  # the old one, during the overlap
    assert deliver(client, rotated.secret, payload, "r2").status_code == 200
    from ocma_core.services.vault_inventory import encrypted_columns

    assert ("clickhook", "secret_enc") in encrypted_columns()  # key rotation re-encrypts it
    remove_secret(ocma, workspace_id)
    assert hook_status(ocma, workspace_id) == {"configured": False}
    assert deliver(client, rotated.secret, payload, "r3").status_code == 503


def test_counts_past_32_bits_add_up(ocma: Ocma, workspace_id: str, client: TestClient) -> None:
    secret = make_secret(ocma, workspace_id).secret
    post_id = draft(ocma, workspace_id)
    batch = {"events": [{"url": URL, "occurred_at": at(), "count": 1_000_000, "post_id": post_id}] * 1000}
    for n in range(3):
        assert deliver(client, secret, batch, f"big{n}").status_code == 200
    from ocma_core.clicks.views import post_clicks

    assert post_clicks(ocma, workspace_id, post_id)["link_clicks"] == 3_000_000_000


def test_an_unreadable_secret_is_a_503_until_rotated(
    ocma: Ocma, workspace_id: str, client: TestClient
) -> None:
    from ocma_core.db.click_models import ClickHook

    old = make_secret(ocma, workspace_id).secret
    with ocma.session() as session:  # what `ocma keys forget-unreadable` leaves after a lost key
        hook = session.get(ClickHook, workspace_id)
        assert hook is not None
        hook.secret_enc = ""
        session.add(hook)
    payload = {"events": [{"url": URL, "occurred_at": at()}]}
    answer = deliver(client, old, payload)
    assert answer.status_code == 503 and "--rotate" in answer.json()["detail"]
    new = make_secret(ocma, workspace_id, rotate=True)
    assert new.previous_valid_until is None  # nothing unreadable kept as the previous secret
    assert deliver(client, new.secret, payload).status_code == 200


def test_concurrent_deliveries_count_once_and_snapshots_stay_cumulative(
    ocma: Ocma, workspace_id: str, clicks_host: PluginHost
) -> None:
    from concurrent.futures import ThreadPoolExecutor
    from threading import Barrier

    from ocma_core.clicks.views import post_clicks

    secret = make_secret(ocma, workspace_id).secret
    post_id = draft(ocma, workspace_id)
    barrier = Barrier(8)

    def send(n: int) -> dict[str, Any]:
        msg_id = "same" if n < 4 else f"own{n}"  # four racing copies of one delivery, four others
        event = {"url": URL, "occurred_at": at(n % 3), "count": 10 + n, "post_id": post_id}
        body = json.dumps({"events": [event]}).encode()
        headers = {**signed(secret, body, msg_id), "ocma-workspace": workspace_id}
        barrier.wait()
        return link_clicks.handle(ocma, headers, body)

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(send, range(8)))
    same = [a for n, a in enumerate(answers) if n < 4]
    assert sorted(a["duplicate"] for a in same) == [False, True, True, True]
    winner = next(a for a in same if not a["duplicate"])["clicks"]
    expected = winner + sum(10 + n for n in range(4, 8))
    shown = post_clicks(ocma, workspace_id, post_id)
    assert shown["link_clicks"] == expected
    totals = [s["values"]["link_clicks"] for s in shown["snapshots"]]
    assert len(totals) == 5 and totals == sorted(totals) and totals[-1] == expected


def test_a_tagged_link_is_attributed_to_its_post(ocma: Ocma, workspace_id: str, client: TestClient) -> None:
    from ocma_core.clicks.links import tag_link
    from ocma_core.errors import ValidationFailed

    post_id = draft(ocma, workspace_id)
    link = tag_link("https://shop.example/p?ref=a&utm_campaign=old", post_id=post_id, campaign="spring")
    assert link == f"https://shop.example/p?ref=a&utm_campaign=spring&utm_content={post_id}"
    with pytest.raises(ValidationFailed):
        tag_link("shop.example/p", campaign="x")
    secret = make_secret(ocma, workspace_id).secret
    answer = deliver(client, secret, {"events": [{"url": link, "occurred_at": at()}]})
    assert answer.json()["posts"] == [post_id]
