"""The S3 media store against moto's local S3 server (loopback), and uploads that race each other."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from test_media import png

from ocma_core.api.app import create_app
from ocma_core.config import Settings
from ocma_core.context import Ocma
from ocma_core.db.models import Media, Role
from ocma_core.errors import ConfigError, NotFoundError, StorageUnavailable
from ocma_core.services.media import store_media
from ocma_core.services.workspaces import create_api_key

BUCKET = "ocma-media"


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    """A moto S3 server on a free loopback port."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def _s3_settings(settings: Settings, endpoint: str, bucket: str = BUCKET) -> Settings:
    return settings.model_copy(
        update={
            "media_backend": "s3",
            "s3_bucket": bucket,
            "s3_endpoint_url": endpoint,
            "s3_region": "us-east-1",
            "s3_access_key_id": "test-key",
            "s3_secret_access_key": "test-secret",
        }
    )


@pytest.fixture
def s3_ocma(settings: Settings, s3_endpoint: str, plugin_host: Any) -> Ocma:
    """An OCMA context storing media in a fresh bucket of the moto server."""
    import boto3

    client = boto3.client(
        "s3",
        endpoint_url=s3_endpoint,
        region_name="us-east-1",
        aws_access_key_id="test-key",
        aws_secret_access_key="test-secret",
    )
    existing = {b["Name"] for b in client.list_buckets().get("Buckets", [])}
    if BUCKET in existing:
        for item in client.list_objects_v2(Bucket=BUCKET).get("Contents", []):
            client.delete_object(Bucket=BUCKET, Key=item["Key"])
    else:
        client.create_bucket(Bucket=BUCKET)
    return Ocma(_s3_settings(settings, s3_endpoint))


def test_s3_store_keeps_each_file_once_and_serves_it(s3_ocma: Ocma) -> None:
    from ocma_core.services.workspaces import create_workspace

    workspace_id = create_workspace(s3_ocma, "S3 team", timezone="UTC").id
    key = create_api_key(s3_ocma, workspace_id, role=Role.EDITOR).key
    image = png(9, 4)
    with TestClient(create_app(s3_ocma, run_worker=False)) as client:
        auth = {"Authorization": f"Bearer {key}"}
        first = client.post("/v1/media", headers=auth, files={"file": ("a.png", image, "image/png")})
        again = client.post("/v1/media", headers=auth, files={"file": ("b.png", image, "image/png")})
        assert first.status_code == 201 and again.json()["id"] == first.json()["id"]
        served = client.get(first.json()["url"].replace("http://127.0.0.1:8000", ""))
        assert served.status_code == 200 and served.content == image
    store: Any = s3_ocma.media
    listed = store.client.list_objects_v2(Bucket=BUCKET)["Contents"]
    assert len(listed) == 1
    head = store.client.head_object(Bucket=BUCKET, Key=listed[0]["Key"])
    assert head["ContentType"] == "image/png" and head["ContentLength"] == len(image)
    path = store.local_path(listed[0]["Key"])  # what a platform upload reads
    assert path.read_bytes() == image and not [p for p in path.parent.iterdir() if p.name.startswith(".")]


def test_s3_failures_say_what_to_fix(s3_ocma: Ocma, settings: Settings, s3_endpoint: str) -> None:
    with pytest.raises(NotFoundError) as missing:
        s3_ocma.media.get("0" * 64)
    assert "missing from bucket 'ocma-media'" in missing.value.message
    no_bucket = Ocma(_s3_settings(settings, s3_endpoint, bucket="no-such-bucket"))
    with pytest.raises(ConfigError) as config:
        no_bucket.media.put("a" * 64, b"x", "image/png")
    assert "does not exist" in config.value.message and "OCMA_S3_BUCKET" in (config.value.fix or "")
    unreachable = Ocma(_s3_settings(settings, "http://127.0.0.1:9"))  # nothing listens on port 9
    store: Any = unreachable.media
    store.client.meta.config.retries = {"max_attempts": 1}
    with pytest.raises(StorageUnavailable) as down:
        store.get("a" * 64)
    assert down.value.status_code == 503 and "OCMA_S3_ENDPOINT_URL" in (down.value.fix or "")


def test_s3_backend_without_bucket_is_a_config_error(settings: Settings) -> None:
    ocma = Ocma(settings.model_copy(update={"media_backend": "s3", "s3_bucket": None}))
    with pytest.raises(ConfigError, match="OCMA_S3_BUCKET"):
        _ = ocma.media


def test_the_same_file_uploaded_at_once_is_stored_once(
    ocma: Ocma, workspace_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    image = png(5, 5)
    both_checked = threading.Barrier(2, timeout=10)
    original_put = ocma.media.put

    def put_after_both_checked(key: str, data: bytes, mime: str) -> None:
        both_checked.wait()  # both uploads have looked for the file and found none
        original_put(key, data, mime)

    monkeypatch.setattr(ocma.media, "put", put_after_both_checked)
    results: list[str] = []
    errors: list[BaseException] = []

    def upload() -> None:
        try:
            results.append(store_media(ocma, workspace_id, image, filename="same.png").id)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=upload) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and len(results) == 2 and results[0] == results[1]
    with ocma.session() as session:
        from sqlmodel import select

        assert len(session.exec(select(Media).where(Media.workspace_id == workspace_id)).all()) == 1
