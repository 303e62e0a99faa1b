"""Encryption at rest (Fernet/MultiFernet with rotation) and hashing of API keys."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from ocma_core.errors import ConfigError


def generate_key() -> str:
    """A new Fernet key."""
    return Fernet.generate_key().decode("ascii")


def parse_keys(raw: str) -> list[str]:
    """Keys from a comma-separated list, newest first."""
    return [k.strip() for k in raw.split(",") if k.strip()]


class Vault:
    """Encrypts with the newest key, decrypts with any configured key."""

    def __init__(self, keys: list[str]) -> None:
        if not keys:
            raise ConfigError(
                "No encryption key configured.", fix="Run `ocma init` or set OCMA_ENCRYPTION_KEYS."
            )
        try:
            self._fernet = MultiFernet([Fernet(k.encode("ascii")) for k in keys])
        except (ValueError, UnicodeEncodeError):
            raise ConfigError(
                "OCMA_ENCRYPTION_KEYS holds a value that is not a Fernet key (32 url-safe base64 bytes).",
                fix="Generate one with `ocma init` or `ocma keys generate`.",
            ) from None
        self.key_count = len(keys)

    def encrypt(self, plaintext: str) -> str:
        """Ciphertext of `plaintext` under the newest key."""
        return self._fernet.encrypt(plaintext.encode("utf-8")).decode("ascii")

    def decrypt(self, ciphertext: str) -> str:
        """Plaintext, or a ConfigError saying the key does not match."""
        try:
            return self._fernet.decrypt(ciphertext.encode("ascii")).decode("utf-8")
        except InvalidToken:
            raise ConfigError(
                "Stored secrets cannot be decrypted with the configured encryption key(s).",
                fix="Set OCMA_ENCRYPTION_KEYS to include the key they were encrypted with (newest first).",
            ) from None

    def rotate(self, ciphertext: str) -> str:
        """Re-encrypt under the newest key."""
        try:
            return self._fernet.rotate(ciphertext.encode("ascii")).decode("ascii")
        except InvalidToken:
            raise ConfigError(
                "A stored secret was encrypted with a key that is no longer configured.",
                fix="Add the old key after the new one in OCMA_ENCRYPTION_KEYS, then rotate again.",
            ) from None


def load_or_create_keys(env_value: str | None, key_file: Path, *, create: bool) -> list[str]:
    """Keys from OCMA_ENCRYPTION_KEYS, else the data directory's key file (created when `create`)."""
    if env_value:
        return parse_keys(env_value)
    if key_file.exists():
        return parse_keys(key_file.read_text(encoding="ascii").strip())
    if not create:
        raise ConfigError(
            "No encryption key: OCMA_ENCRYPTION_KEYS is unset and no key file exists.",
            fix=f"Run `ocma init`, or set OCMA_ENCRYPTION_KEYS (expected key file: {key_file}).",
        )
    key_file.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(generate_key() + "\n")
    return parse_keys(key_file.read_text(encoding="ascii").strip())


API_KEY_PREFIX = "ocma_"


def new_api_key() -> tuple[str, str, str]:
    """A new API key: (the key shown once, its lookup prefix, its hash)."""
    key_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    key = f"{API_KEY_PREFIX}{key_id}_{secret}"
    return key, key_id, hash_api_key(key)


def hash_api_key(key: str) -> str:
    """SHA-256 of an API key (keys are long random strings, so a fast hash is safe)."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def api_key_id(key: str) -> str | None:
    """The lookup prefix of a well-formed key, else None."""
    if not key.startswith(API_KEY_PREFIX):
        return None
    rest = key[len(API_KEY_PREFIX) :]
    key_id, _, secret = rest.partition("_")
    return key_id if len(key_id) == 12 and secret else None


def same_hash(a: str, b: str) -> bool:
    """Constant-time comparison."""
    return hmac.compare_digest(a, b)
