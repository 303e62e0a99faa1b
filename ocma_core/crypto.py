"""Encryption at rest (Fernet/MultiFernet with rotation) and hashing of API keys."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from collections.abc import Mapping
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from ocma_core.errors import ConfigError, SecretUnreadable


def generate_key() -> str:
    """A new Fernet key."""
    return Fernet.generate_key().decode("ascii")


def parse_keys(raw: str) -> list[str]:
    """Keys from a list separated by commas or whitespace (one a line in a key file), newest first."""
    return [k for k in raw.replace(",", " ").split() if k]


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
        """Plaintext, or a SecretUnreadable error saying the key does not match."""
        try:
            return self._fernet.decrypt(ciphertext.encode("ascii")).decode("utf-8")
        except (InvalidToken, UnicodeEncodeError):
            raise SecretUnreadable(
                "Stored secrets cannot be decrypted with the encryption key(s) in force "
                "(OCMA_ENCRYPTION_KEYS, else the data directory's key file).",
                fix="Run `ocma doctor`: it finds the key they were encrypted with and says what to do.",
            ) from None

    def can_decrypt(self, ciphertext: str) -> bool:
        """True when one of the keys decrypts `ciphertext`."""
        try:
            self._fernet.decrypt(ciphertext.encode("ascii"))
        except (InvalidToken, UnicodeEncodeError):
            return False
        return True

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
        return read_key_file(key_file)
    if not create:
        raise ConfigError(
            f"No encryption key: OCMA_ENCRYPTION_KEYS is unset and there is no key file at {key_file}.",
            fix="Run `ocma init` (it creates the key file), or set OCMA_ENCRYPTION_KEYS.",
        )
    make_private_dir(key_file.parent)
    try:
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process created it first: use theirs
        return read_key_file(key_file)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(generate_key() + "\n")
    return read_key_file(key_file)


def read_key_file(key_file: Path) -> list[str]:
    """The keys in a key file, newest first, or a ConfigError naming the file."""
    try:
        keys = parse_keys(key_file.read_text(encoding="ascii"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(
            f"The key file {key_file} cannot be read: {exc}.",
            fix="Give the user OCMA runs as read access to it (mode 0600, owned by that user).",
        ) from None
    if not keys:
        raise ConfigError(f"The key file {key_file} is empty.", fix="Restore it from your backup.")
    return keys


def make_private_dir(path: Path) -> None:
    """Create a directory (and parents) readable by this user only when it does not exist yet."""
    if not path.exists():
        path.mkdir(parents=True, exist_ok=True, mode=0o700)


def vault_from_environment(env: Mapping[str, str]) -> Vault:
    """The vault `env` configures: OCMA_ENCRYPTION_KEYS (or _FILE), else the data directory's key file."""
    from ocma_core.settings_files import default_data_dir, with_file_values

    values = with_file_values({k: v for k, v in env.items() if k.startswith("OCMA_")}, "the environment")
    data_dir = Path(values["OCMA_DATA_DIR"]) if values.get("OCMA_DATA_DIR") else default_data_dir(env)
    keys = load_or_create_keys(values.get("OCMA_ENCRYPTION_KEYS"), data_dir / "encryption.key", create=False)
    return Vault(keys)


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
