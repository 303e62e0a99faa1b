"""The real Bluesky PDS for end-to-end tests: started from this directory's pinned npm packages.

`npm ci --prefix tests/pds` installs it (`.ci/run` does so when it is missing). Without node, npm or the
installed packages the tests skip with the reason — except under CI=true, where that fails the run.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

HERE = Path(__file__).resolve().parent
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
START_TIMEOUT_S = 90.0


def missing() -> str | None:
    """Why the PDS cannot start here, or None when it can."""
    if shutil.which("node") is None:
        return "node is not installed (the Bluesky PDS suite needs Node.js 20 and npm)"
    if not (HERE / "node_modules" / "@atproto" / "pds").is_dir():
        return "the PDS is not installed: run `npm ci --prefix tests/pds` (needs npm, g++ and make)"
    return None


def skip_or_fail(reason: str) -> None:
    """Skip with the reason, or fail under CI (where this suite must run)."""
    if IN_CI:
        pytest.fail(f"Bluesky PDS suite cannot run in CI: {reason}")
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Account:
    """An account on the PDS: its handle, DID, main password and an app password for OCMA."""

    handle: str
    did: str
    password: str
    app_password: str
    access_jwt: str


class LocalPds:
    """A running PDS + PLC pair (node local-pds.mjs) on loopback."""

    def __init__(self) -> None:
        self.pds_port, self.plc_port = _free_port(), _free_port()
        self.url = f"http://localhost:{self.pds_port}"
        self.process: subprocess.Popen[str] | None = None
        self.output: list[str] = []

    def start(self) -> LocalPds:
        """Start node and wait until the PDS answers /xrpc/_health."""
        env = {**os.environ, "PDS_PORT": str(self.pds_port), "PLC_PORT": str(self.plc_port)}
        self.process = subprocess.Popen(
            ["node", "local-pds.mjs"],
            cwd=HERE,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        threading.Thread(target=self._drain, daemon=True).start()
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"The PDS exited with {self.process.returncode}:\n" + "".join(self.output))
            try:
                if httpx.get(f"{self.url}/xrpc/_health", timeout=2).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"The PDS did not answer within {START_TIMEOUT_S:.0f} s:\n" + "".join(self.output))

    def _drain(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        for line in self.process.stdout:
            self.output.append(line)

    def stop(self) -> None:
        """SIGTERM (the script closes both servers and removes its data), then kill if it lingers."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)

    # ----- XRPC helpers for the tests ------------------------------------------------------------
    def call(self, method: str, nsid: str, *, token: str | None = None, **kw: Any) -> Any:
        """One XRPC call; raises on an error answer."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = httpx.request(method, f"{self.url}/xrpc/{nsid}", headers=headers, timeout=30, **kw)
        if response.status_code >= 400:
            raise AssertionError(f"{nsid} answered {response.status_code}: {response.text}")
        return response.json() if response.content else None

    def create_account(self, name: str, display_name: str = "") -> Account:
        """A new account (handle <name>-<random>.test) with an app password and, if given, a profile record."""
        handle = f"{name}-{secrets.token_hex(3)}.test"
        password = secrets.token_urlsafe(12)
        body = {"handle": handle, "email": f"{handle}@example.com", "password": password}
        session = self.call("POST", "com.atproto.server.createAccount", json=body)
        token = session["accessJwt"]
        app = self.call("POST", "com.atproto.server.createAppPassword", token=token, json={"name": "ocma"})
        if display_name:
            record = {"$type": "app.bsky.actor.profile", "displayName": display_name}
            self.call(
                "POST",
                "com.atproto.repo.putRecord",
                token=token,
                json={
                    "repo": session["did"],
                    "collection": "app.bsky.actor.profile",
                    "rkey": "self",
                    "record": record,
                },
            )
        return Account(handle, session["did"], password, app["password"], token)

    def get_record(self, uri: str) -> dict[str, Any]:
        """com.atproto.repo.getRecord of an at:// URI (no auth needed)."""
        repo, collection, rkey = uri.removeprefix("at://").split("/")
        params = {"repo": repo, "collection": collection, "rkey": rkey}
        return dict(self.call("GET", "com.atproto.repo.getRecord", params=params))

    def record_exists(self, uri: str) -> bool:
        """False once a record is deleted (getRecord answers 400 RecordNotFound)."""
        repo, collection, rkey = uri.removeprefix("at://").split("/")
        params = {"repo": repo, "collection": collection, "rkey": rkey}
        response = httpx.get(f"{self.url}/xrpc/com.atproto.repo.getRecord", params=params, timeout=30)
        if response.status_code == 400 and json.loads(response.text).get("error") == "RecordNotFound":
            return False
        response.raise_for_status()
        return True

    def posts(self, did: str) -> list[dict[str, Any]]:
        """The account's app.bsky.feed.post records, oldest first."""
        params = {"repo": did, "collection": "app.bsky.feed.post", "limit": 100}
        return list(reversed(self.call("GET", "com.atproto.repo.listRecords", params=params)["records"]))

    def blob(self, did: str, cid: str) -> bytes:
        """com.atproto.sync.getBlob: the stored bytes."""
        response = httpx.get(
            f"{self.url}/xrpc/com.atproto.sync.getBlob", params={"did": did, "cid": cid}, timeout=30
        )
        response.raise_for_status()
        return response.content
