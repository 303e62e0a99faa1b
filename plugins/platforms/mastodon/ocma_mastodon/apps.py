"""Per-instance OAuth app registration (POST /api/v1/apps), cached in a small JSON file.

Every Mastodon server is its own OAuth provider, so OCMA registers itself once per instance and keeps the
client id and secret in `<OCMA_DATA_DIR>/mastodon-apps.json` (mode 0600; the directory defaults to
$XDG_DATA_HOME/ocma or ~/.local/share/ocma, as the core's data directory does). The client secret is stored
encrypted with OCMA's vault (`client_secret_enc`), so `ocma keys rotate` re-encrypts it with every other
secret; a file written by an older version (plain `client_secret`) is encrypted when it is next read.
Since Mastodon 4.3 apps are no longer vacuumed, so a cached registration stays valid until someone deletes it;
a registration whose redirect URIs or scopes differ from what is needed now, or whose secret can no longer
be decrypted, is replaced.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx

from ocma_core import ConfigError, error_detail
from ocma_core.net import FetchRefused, guarded_client

if TYPE_CHECKING:
    from ocma_core.app.plugins import Vault

CLIENT_NAME = "OCMA"
_LOCK = threading.Lock()


def normalise_instance(value: str) -> str:
    """`mastodon.social`, `https://Mastodon.Social/` -> `https://mastodon.social`."""
    value = value.strip()
    if not value:
        raise ConfigError(
            "No Mastodon instance was given.", fix="Give the server's address, e.g. mastodon.social."
        )
    if "://" not in value:
        value = "https://" + value
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        parts, port = urlsplit(""), None
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or parts.username is not None
        or parts.query
        or parts.fragment
        or parts.path.strip("/")
    ):
        raise ConfigError(
            f"{value[:200]!r} is not a Mastodon server address.", fix="Use e.g. https://mastodon.social."
        )
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    return f"{parts.scheme}://{host}{f':{port}' if port else ''}"


def data_dir(env: Mapping[str, str]) -> Path:
    """OCMA_DATA_DIR, else the core's default data directory."""
    if env.get("OCMA_DATA_DIR"):
        return Path(env["OCMA_DATA_DIR"])
    base = env.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "ocma"


class AppRegistry:
    """Registered OAuth clients per instance, persisted as JSON with their secrets encrypted."""

    def __init__(self, path: Path, vault: Callable[[], Vault]) -> None:
        self.path = path
        self._vault = vault

    def _load(self) -> dict[str, dict[str, Any]]:
        try:
            data = json.loads(self.path.read_text("utf-8"))
        except (OSError, ValueError):
            return {}
        if not isinstance(data, dict):
            return {}
        plain = [app for app in data.values() if isinstance(app, dict) and "client_secret" in app]
        if plain:  # written before secrets were encrypted: encrypt them now
            vault = self._vault()
            for app in plain:
                app["client_secret_enc"] = vault.encrypt(str(app.pop("client_secret") or ""))
            self._save(data)
        return data

    def _save(self, data: dict[str, dict[str, Any]]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = self.path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=2, sort_keys=True)
        os.replace(tmp, self.path)

    def _opened(self, app: dict[str, Any] | None) -> dict[str, Any] | None:
        """The registration with its secret decrypted; None when the secret is missing or unreadable."""
        if not app or not isinstance(app.get("client_secret_enc"), str):
            return None
        vault = self._vault()
        if not vault.can_decrypt(app["client_secret_enc"]):
            return None
        opened = {k: v for k, v in app.items() if k != "client_secret_enc"}
        return {**opened, "client_secret": vault.decrypt(app["client_secret_enc"])}

    def get(self, instance: str) -> dict[str, Any] | None:
        """The cached registration of an instance (its secret decrypted)."""
        with _LOCK:
            return self._opened(self._load().get(instance))

    def forget(self, instance: str) -> None:
        """Drop a registration the instance no longer accepts (invalid_client)."""
        with _LOCK:
            data = self._load()
            if data.pop(instance, None) is not None:
                self._save(data)

    def ensure(
        self,
        instance: str,
        redirect_uris: list[str],
        scopes: str,
        website: str | None,
        timeout_s: float = 15.0,
        trusted_hosts: frozenset[str] = frozenset(),
    ) -> dict[str, Any]:
        """The cached client for `instance`, registering one when none fits the redirect URIs and scopes."""
        with _LOCK:
            cached = self._opened(self._load().get(instance))
            if (
                cached
                and sorted(cached.get("redirect_uris", [])) == sorted(redirect_uris)
                and (cached.get("scopes") == scopes)
            ):
                return cached
            app = register_app(instance, redirect_uris, scopes, website, timeout_s, trusted_hosts)
            data = self._load()
            stored = {k: v for k, v in app.items() if k != "client_secret"}
            data[instance] = {**stored, "client_secret_enc": self._vault().encrypt(app["client_secret"])}
            self._save(data)
            return app


def register_app(
    instance: str,
    redirect_uris: list[str],
    scopes: str,
    website: str | None,
    timeout_s: float,
    trusted_hosts: frozenset[str] = frozenset(),
) -> dict[str, Any]:
    """POST /api/v1/apps (through the guarded client: the instance is a member's choice); returns the fields
    OCMA keeps (client_id, client_secret, redirect_uris, scopes)."""
    body: dict[str, Any] = {"client_name": CLIENT_NAME, "redirect_uris": redirect_uris, "scopes": scopes}
    if website:
        body["website"] = website
    try:
        with guarded_client(timeout_s=timeout_s, trusted_hosts=trusted_hosts) as client:
            response = client.post(f"{instance}/api/v1/apps", json=body)
    except FetchRefused as exc:
        raise ConfigError(exc.message, fix=exc.fix) from None
    except httpx.HTTPError as exc:
        raise ConfigError(
            f"Could not reach {instance} to register OCMA ({type(exc).__name__}).",
            fix="Check the server address and try again.",
        ) from None
    try:
        answer = response.json()
    except ValueError:
        answer = None
    if response.status_code != 200 or not isinstance(answer, dict) or "client_id" not in answer:
        raise ConfigError(
            f"{instance} refused to register OCMA ({response.status_code}): {error_detail(response)}",
            fix="Is this a Mastodon server? Some servers close app registration; then create an application "
            "under Preferences -> Development and paste its access token instead.",
        )
    return {
        "client_id": str(answer["client_id"]),
        "client_secret": str(answer.get("client_secret") or ""),
        "redirect_uris": list(answer.get("redirect_uris") or redirect_uris),
        "scopes": scopes,
        "registered_at": datetime.now(UTC).isoformat(),
    }
