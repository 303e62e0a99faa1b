"""Encryption keys: re-encrypt every secret at rest with the newest key, and check that the keys in force
can decrypt what is stored (at start-up, in /readyz and in `ocma doctor`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ocma_core.context import Ocma
from ocma_core.crypto import Vault, parse_keys, read_key_file
from ocma_core.errors import ConfigError
from ocma_core.services import vault_inventory


def rotate_all(ocma: Ocma) -> int:
    """Re-encrypt every secret in the database (one transaction), then in the data directory's files;
    returns how many values were re-encrypted."""
    vault = ocma.vault
    with ocma.session() as session:
        count = vault_inventory.rotate_database(session, vault.rotate)
    return count + vault_inventory.rotate_files(ocma.settings.data_dir, vault.rotate)


@dataclass
class SecretsCheck:
    """What the configured keys can decrypt: totals, where the unreadable secrets are, and the fix."""

    total: int = 0
    unreadable: list[str] = field(default_factory=list)
    keys_source: str = ""
    fix: str = ""

    @property
    def ok(self) -> bool:
        """True when every stored secret decrypts."""
        return not self.unreadable

    def message(self) -> str:
        """One sentence for a person: how many secrets cannot be decrypted, and where the first ones are."""
        if self.ok and not self.total:
            return f"No secrets stored yet; the keys come from {self.keys_source}."
        if self.ok:
            return f"All {self.total} stored secrets decrypt with the keys from {self.keys_source}."
        shown = "; ".join(self.unreadable[:3]) + (" ..." if len(self.unreadable) > 3 else "")
        return (
            f"{len(self.unreadable)} of {self.total} stored secrets cannot be decrypted with the keys from "
            f"{self.keys_source} ({shown})."
        )

    def as_error(self) -> ConfigError:
        """The failed check as the error `ocma serve` and `ocma worker` stop with."""
        return ConfigError(self.message(), fix=self.fix)


def keys_source(ocma: Ocma) -> str:
    """Where the keys in force come from, for messages (never the keys themselves)."""
    if ocma.settings.encryption_keys:
        from ocma_core.settings_files import settings_layers, source_of

        try:
            where = source_of("OCMA_ENCRYPTION_KEYS", settings_layers(data_dir=ocma.settings.data_dir))
        except ConfigError:
            where = None
        return f"OCMA_ENCRYPTION_KEYS ({where or 'given to this process'})"
    return f"the key file {ocma.settings.key_file}"


def check_secrets(ocma: Ocma) -> SecretsCheck:
    """Try to decrypt every stored secret with the keys in force."""
    vault = ocma.vault
    check = SecretsCheck(keys_source=keys_source(ocma))
    unreadable_tokens: list[str] = []
    with ocma.session() as session:
        found = list(vault_inventory.database_secrets(session))
    found += vault_inventory.file_secrets(ocma.settings.data_dir)
    for secret in found:
        check.total += 1
        if not vault.can_decrypt(secret.ciphertext):
            check.unreadable.append(secret.where)
            unreadable_tokens.append(secret.ciphertext)
    if unreadable_tokens:
        check.fix = _fix(ocma, unreadable_tokens, [secret.ciphertext for secret in found])
    return check


def _candidates(ocma: Ocma) -> list[tuple[str, list[str]]]:
    """Other keys found on this machine (the key file, ./.env, the data directory's ocma.env), by source."""
    from ocma_core.settings_files import settings_layers

    found: list[tuple[str, list[str]]] = []
    key_file = ocma.settings.key_file
    if key_file.is_file():
        try:
            found.append((f"the key file {key_file}", read_key_file(key_file)))
        except ConfigError:
            pass
    try:
        layers = settings_layers(data_dir=ocma.settings.data_dir)
    except ConfigError:
        layers = []
    for layer in layers:
        raw = layer.values.get("OCMA_ENCRYPTION_KEYS")
        if raw:
            found.append((f"OCMA_ENCRYPTION_KEYS in {layer.label}", parse_keys(raw)))
    return found


def _fix(ocma: Ocma, unreadable: list[str], everything: list[str]) -> str:
    """What to do: name the key on this machine that decrypts them, else restore or forget."""
    configured = list(ocma.encryption_keys)
    in_force = keys_source(ocma)
    for source, keys in _candidates(ocma):
        extra = [k for k in keys if k not in configured]
        if not extra:
            continue
        if all(Vault(keys).can_decrypt(t) for t in everything):  # that key alone reads everything
            how = (
                "remove OCMA_ENCRYPTION_KEYS where it is set, so the key file is in force"
                if source.startswith("the key file")
                else f"set OCMA_ENCRYPTION_KEYS to the value in {source} everywhere OCMA runs"
            )
            return (
                f"Every stored secret decrypts with the keys in {source}, but {in_force} is in force: {how}."
            )
        if all(Vault(extra + configured).can_decrypt(t) for t in unreadable):
            return (
                f"They decrypt with the key in {source}; the others with {in_force}. Put both in one place, "
                "newest first (OCMA_ENCRYPTION_KEYS=current,old, or one key a line in the key file), restart, "
                "run `ocma keys rotate`, then drop the old key."
            )
    return (
        "Configure the key they were encrypted with (OCMA_ENCRYPTION_KEYS=current,old, or restore the key file "
        f"{ocma.settings.key_file} from your backup). If that key is lost, run `ocma keys forget-unreadable`: "
        "it drops the unreadable secrets and marks their accounts as needing reconnection."
    )


_recent: dict[str, tuple[float, SecretsCheck]] = {}


def recent_check(ocma: Ocma, max_age_s: float = 60.0) -> SecretsCheck:
    """check_secrets, reusing a result younger than `max_age_s` (for /readyz, which is polled often)."""
    import hashlib
    import time

    marker = hashlib.sha256(
        f"{ocma.settings.resolved_database_url}|{','.join(ocma.encryption_keys)}".encode()
    ).hexdigest()
    now = time.monotonic()
    cached = _recent.get(marker)
    if cached is not None and now - cached[0] < max_age_s:
        return cached[1]
    check = check_secrets(ocma)
    _recent[marker] = (now, check)
    return check


def require_readable_secrets(ocma: Ocma) -> SecretsCheck:
    """The start-up check of `ocma serve` and `ocma worker`: raise ConfigError when a secret is unreadable."""
    check = check_secrets(ocma)
    if not check.ok:
        raise check.as_error()
    return check


def forget_unreadable(ocma: Ocma) -> list[str]:
    """Drop secrets no configured key can decrypt: accounts whose tokens are lost need reconnecting, and
    other unreadable values are removed. Returns what was dropped."""
    from ocma_core.services.vault_forget import forget

    return forget(ocma, Path(ocma.settings.data_dir))
