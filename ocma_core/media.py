"""Media store: files kept once by content hash, served at signed, expiring URLs."""

from __future__ import annotations

import hashlib
import hmac
import mimetypes
import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol

from ocma_core.config import Settings
from ocma_core.errors import ConfigError, NotFoundError, StorageUnavailable
from ocma_core.media_check import HEAD, copy_atomically
from ocma_core.media_check import sniff_mime as _sniff


class MediaStore(Protocol):
    """Where media bytes live."""

    def put(self, key: str, data: bytes, mime_type: str) -> None:
        """Store bytes under `key` (idempotent)."""

    def put_file(self, key: str, path: Path, mime_type: str) -> None:
        """Store a file's bytes under `key` without reading them all into memory (idempotent)."""

    def get(self, key: str) -> bytes:
        """The bytes under `key`."""

    def local_path(self, key: str) -> Path:
        """A local file with the bytes (downloaded to a cache for remote stores)."""


class LocalMediaStore:
    """Files under {data_dir}/media/<aa>/<sha256>."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        if not key.isalnum():
            raise ValueError("bad media key")
        return self.root / key[:2] / key

    def put(self, key: str, data: bytes, mime_type: str) -> None:
        """Write atomically; an existing file is kept."""
        path = self._path(key)
        if not path.exists():
            write_atomically(path, data)

    def put_file(self, key: str, path: Path, mime_type: str) -> None:
        """Copy atomically; an existing file is kept."""
        target = self._path(key)
        if not target.exists():
            copy_atomically(path, target)

    def get(self, key: str) -> bytes:
        """Read the file."""
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            raise NotFoundError(
                f"The bytes of media {key[:12]}… are missing from {self.root}.",
                fix="Restore the media directory from a backup, or upload the file again.",
            ) from None

    def local_path(self, key: str) -> Path:
        """The file itself."""
        return self._path(key)


class S3MediaStore:
    """Any S3-compatible store (AWS, MinIO, R2, ...) through boto3, installed with `pip install "ocma[s3]"`."""

    def __init__(self, settings: Settings) -> None:
        try:
            import boto3
        except ImportError:
            raise ConfigError(
                "OCMA_MEDIA_BACKEND=s3 needs boto3.", fix='Install it with `pip install "ocma[s3]"`.'
            ) from None
        if not settings.s3_bucket:
            raise ConfigError(
                "OCMA_MEDIA_BACKEND=s3 but OCMA_S3_BUCKET is not set.", fix="Set OCMA_S3_BUCKET."
            )
        self.bucket = settings.s3_bucket
        self.endpoint = settings.s3_endpoint_url
        self.cache = settings.data_dir / "media-cache"
        self.client = boto3.client(
            "s3",
            endpoint_url=settings.s3_endpoint_url,
            region_name=settings.s3_region,
            aws_access_key_id=settings.s3_access_key_id,
            aws_secret_access_key=settings.s3_secret_access_key,
        )

    def put(self, key: str, data: bytes, mime_type: str) -> None:
        """Upload the object (the same key always holds the same bytes, so a repeat is harmless)."""
        with self._errors(key):
            self.client.put_object(Bucket=self.bucket, Key=key, Body=data, ContentType=mime_type)

    def put_file(self, key: str, path: Path, mime_type: str) -> None:
        """Upload the file in parts (boto3's managed transfer streams it from disk)."""
        with self._errors(key):
            self.client.upload_file(str(path), self.bucket, key, ExtraArgs={"ContentType": mime_type})

    def get(self, key: str) -> bytes:
        """Download the object."""
        with self._errors(key):
            return bytes(self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read())

    def local_path(self, key: str) -> Path:
        """Download once into a local cache (atomically: concurrent readers never see half a file)."""
        if not key.isalnum():
            raise ValueError("bad media key")
        path = self.cache / key
        if not path.exists():
            write_atomically(path, self.get(key))
        return path

    @contextmanager
    def _errors(self, key: str) -> Iterator[None]:
        """The store's failures as errors that say what to fix."""
        from botocore.exceptions import BotoCoreError, ClientError

        where = f"bucket {self.bucket!r}" + (f" at {self.endpoint}" if self.endpoint else "")
        try:
            yield
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code in ("NoSuchKey", "404"):
                raise NotFoundError(
                    f"The bytes of media {key[:12]}… are missing from {where}.",
                    fix="Upload the file again.",
                ) from None
            if code == "NoSuchBucket":
                raise ConfigError(
                    f"The S3 {where} does not exist.", fix="Create it, or fix OCMA_S3_BUCKET."
                ) from None
            if code in ("AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch"):
                raise ConfigError(
                    f"The S3 store refused OCMA's credentials for {where} ({code}).",
                    fix="Check OCMA_S3_ACCESS_KEY_ID / OCMA_S3_SECRET_ACCESS_KEY and the bucket's policy.",
                ) from None
            raise StorageUnavailable(f"The S3 store failed for {where}: {code or exc}.") from None
        except BotoCoreError as exc:
            raise StorageUnavailable(
                f"Cannot reach the S3 store for {where}: {exc}.",
                fix="Check OCMA_S3_ENDPOINT_URL and the network.",
            ) from None


def write_atomically(path: Path, data: bytes) -> None:
    """Write `path` through a private temporary file and a rename (safe with concurrent writers)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def make_media_store(settings: Settings) -> MediaStore:
    """The configured store."""
    if settings.media_backend == "s3":
        return S3MediaStore(settings)
    return LocalMediaStore(settings.data_dir / "media")


def sniff_mime(data: bytes, filename: str = "") -> str:
    """The MIME type the bytes prove (see media_check.sniff_mime), else a guess from the name (never trusted
    for storing: uploads go through media_check.inspect)."""
    return _sniff(data[:HEAD]) or mimetypes.guess_type(filename)[0] or "application/octet-stream"


def image_size(data: bytes) -> tuple[int | None, int | None]:
    """Width and height of PNG, GIF and JPEG images, read from their headers."""
    if data.startswith(b"\x89PNG") and len(data) >= 24:
        return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        return int.from_bytes(data[6:8], "little"), int.from_bytes(data[8:10], "little")
    if data.startswith(b"\xff\xd8"):
        i = 2
        while i + 9 < len(data):
            if data[i] != 0xFF:
                i += 1
                continue
            marker = data[i + 1]
            length = int.from_bytes(data[i + 2 : i + 4], "big")
            if marker in (0xC0, 0xC1, 0xC2):
                return int.from_bytes(data[i + 7 : i + 9], "big"), int.from_bytes(data[i + 5 : i + 7], "big")
            i += 2 + length
    return None, None


def sha256_hex(data: bytes) -> str:
    """Content hash."""
    return hashlib.sha256(data).hexdigest()


def _signing_key(secret: str) -> bytes:
    return hashlib.sha256(b"ocma-media-url:" + secret.encode("utf-8")).digest()


def sign_media_url(public_url: str, media_id: str, secret: str, ttl_s: int, now: float | None = None) -> str:
    """A public URL for a media file that stops working after `ttl_s` seconds."""
    expires = int((now or time.time()) + ttl_s)
    signature = hmac.new(_signing_key(secret), f"{media_id}:{expires}".encode(), hashlib.sha256).hexdigest()
    return f"{public_url.rstrip('/')}/media/{media_id}?exp={expires}&sig={signature}"


def verify_media_signature(media_id: str, exp: int, sig: str, secret: str, now: float | None = None) -> bool:
    """True when the signature matches and has not expired."""
    if exp < (now or time.time()):
        return False
    if not sig.isascii():
        return False  # compare_digest raises TypeError on non-ASCII text: a bad signature, not a server error
    expected = hmac.new(_signing_key(secret), f"{media_id}:{exp}".encode(), hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, sig)
