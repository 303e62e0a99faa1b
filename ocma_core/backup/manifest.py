"""The archive's manifest: what it holds, from which OCMA and schema, and a checksum of every file."""

from __future__ import annotations

import hashlib
import json
import tarfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ocma_core.errors import ConfigError

FORMAT = 1
MANIFEST_NAME = "manifest.json"


@dataclass
class Manifest:
    """What a backup archive holds."""

    ocma_version: str
    created_at: str
    backend: str  # sqlite | postgresql
    db_format: str  # sqlite | pg_dump | portable
    db_file: str
    revision: str | None
    rows: dict[str, int]
    media_count: int = 0
    media_bytes: int = 0
    keys_included: bool = False
    key_fingerprints: list[str] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)  # archive path -> sha256
    format: int = FORMAT

    def to_json(self) -> str:
        """The manifest as JSON."""
        return json.dumps(asdict(self), indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        """Parse a manifest, refusing one from a newer archive format."""
        data: dict[str, Any] = json.loads(text)
        if int(data.get("format", 0)) > FORMAT:
            raise ConfigError(
                f"This backup has archive format {data.get('format')}; this OCMA reads format {FORMAT}.",
                fix="Restore it with the OCMA version that made it (or a newer one).",
            )
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in known})


def key_fingerprint(key: str) -> str:
    """A short, one-way fingerprint of an encryption key (names a key without revealing it)."""
    return hashlib.sha256(b"ocma-key-fingerprint:" + key.encode()).hexdigest()[:16]


def sha256_file(path: Path) -> str:
    """The SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def read_manifest(archive: Path) -> Manifest:
    """The manifest of a backup archive, or a ConfigError saying why it is not one."""
    try:
        with tarfile.open(archive, "r:*") as tar:
            member = tar.extractfile(MANIFEST_NAME)
            if member is None:
                raise KeyError(MANIFEST_NAME)
            return Manifest.from_json(member.read().decode("utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"There is no backup at {archive}.", fix="Give the path of an archive.") from None
    except (tarfile.TarError, KeyError, ValueError) as exc:
        raise ConfigError(
            f"{archive} is not an OCMA backup ({type(exc).__name__}: {exc}).",
            fix="Give an archive made by `ocma backup`.",
        ) from None
