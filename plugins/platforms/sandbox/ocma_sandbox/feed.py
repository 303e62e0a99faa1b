"""The sandbox's feed: its accounts, their tokens, the posts and any faults asked for, in one SQLite file.

Every OCMA process on the machine (the server with its embedded worker, `ocma` commands, workers) opens the
same file. Each write is one transaction (BEGIN IMMEDIATE), so a thread is stored whole or not at all and a
fault is taken by exactly one publish. Tokens are kept only as SHA-256 hashes.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

NAME_RULE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,29}$")
FAULTS = ("rate_limit", "auth", "server_error", "timeout_after_store")
SCHEMA_VERSION = 1
SCHEMA = """
CREATE TABLE IF NOT EXISTS accounts (
    id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tokens (
    hash TEXT PRIMARY KEY, account_id TEXT NOT NULL REFERENCES accounts(id), kind TEXT NOT NULL,
    valid INTEGER NOT NULL DEFAULT 1, created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS posts (
    id TEXT PRIMARY KEY, account_id TEXT NOT NULL REFERENCES accounts(id), root_id TEXT NOT NULL,
    position INTEGER NOT NULL, reply_to TEXT, text TEXT NOT NULL, media TEXT NOT NULL DEFAULT '[]',
    idempotency_key TEXT NOT NULL DEFAULT '', created_at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS posts_by_account ON posts (account_id, created_at);
CREATE INDEX IF NOT EXISTS posts_by_parent ON posts (reply_to);
CREATE TABLE IF NOT EXISTS faults (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, account_id TEXT, kind TEXT NOT NULL,
    retry_after_s REAL NOT NULL DEFAULT 30, skip INTEGER NOT NULL DEFAULT 0);
"""


class UnknownToken(Exception):
    """The token is not one the feed issued, or it was expired or used up."""


class NotYours(Exception):
    """The post belongs to another sandbox account."""


@dataclass(frozen=True)
class SandboxAccount:
    """One account of the sandbox feed."""

    id: str
    name: str
    created_at: str


@dataclass(frozen=True)
class Tokens:
    """An access token and the refresh token that replaces it (both shown once)."""

    access: str
    refresh: str


@dataclass(frozen=True)
class FeedPost:
    """One stored post (a thread is several, sharing `root_id`, ordered by `position`)."""

    id: str
    account_id: str
    root_id: str
    position: int
    text: str
    created_at: str
    media: list[dict[str, Any]] = field(default_factory=list)
    idempotency_key: str = ""
    reply_to: str | None = None


@dataclass(frozen=True)
class Fault:
    """A failure someone asked the next publish to have."""

    kind: str
    retry_after_s: float = 30.0


def now_text() -> str:
    """The current UTC time in the feed's sortable text form."""
    return datetime.now(UTC).isoformat(timespec="microseconds")


def time_text(moment: datetime) -> str:
    """A time in the feed's sortable text form."""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(UTC).isoformat(timespec="microseconds")


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _post(row: sqlite3.Row) -> FeedPost:
    return FeedPost(
        id=row["id"],
        account_id=row["account_id"],
        root_id=row["root_id"],
        position=row["position"],
        text=row["text"],
        created_at=row["created_at"],
        media=json.loads(row["media"]),
        idempotency_key=row["idempotency_key"],
        reply_to=row["reply_to"],
    )


class SandboxFeed:
    """The feed file and every operation on it."""

    def __init__(self, path: Path) -> None:
        self.path = path

    # ----- connections ---------------------------------------------------------------------------
    def _open(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        conn.row_factory = sqlite3.Row
        if conn.execute("PRAGMA user_version").fetchone()[0] < SCHEMA_VERSION:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.executescript(f"BEGIN IMMEDIATE; {SCHEMA} PRAGMA user_version={SCHEMA_VERSION}; COMMIT;")
        return conn

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        with closing(self._open()) as conn:
            yield conn

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with closing(self._open()) as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    # ----- accounts and tokens -------------------------------------------------------------------
    def connect(self, name: str) -> tuple[SandboxAccount, Tokens]:
        """Open the account called `name` (created on first use) and issue it a new pair of tokens."""
        with self._write() as conn:
            row = conn.execute("SELECT * FROM accounts WHERE name = ?", (name,)).fetchone()
            if row is None:
                account = SandboxAccount(f"sbx_{secrets.token_hex(8)}", name, now_text())
                conn.execute(
                    "INSERT INTO accounts (id, name, created_at) VALUES (?, ?, ?)",
                    (account.id, account.name, account.created_at),
                )
            else:
                account = SandboxAccount(row["id"], row["name"], row["created_at"])
            return account, self._issue(conn, account.id)

    def _issue(self, conn: sqlite3.Connection, account_id: str) -> Tokens:
        tokens = Tokens(f"sbx_at_{secrets.token_urlsafe(24)}", f"sbx_rt_{secrets.token_urlsafe(24)}")
        for kind, token in (("access", tokens.access), ("refresh", tokens.refresh)):
            conn.execute(
                "INSERT INTO tokens (hash, account_id, kind, created_at) VALUES (?, ?, ?, ?)",
                (_hash(token), account_id, kind, now_text()),
            )
        return tokens

    def _holder(self, conn: sqlite3.Connection, token: str, kind: str) -> SandboxAccount:
        row = conn.execute(
            "SELECT a.* FROM tokens t JOIN accounts a ON a.id = t.account_id "
            "WHERE t.hash = ? AND t.kind = ? AND t.valid = 1",
            (_hash(token), kind),
        ).fetchone()
        if row is None:
            raise UnknownToken(f"the sandbox does not know this {kind} token (expired or never issued)")
        return SandboxAccount(row["id"], row["name"], row["created_at"])

    def account_for(self, access_token: str) -> SandboxAccount:
        """The account an access token belongs to; UnknownToken when it is not valid."""
        with self._read() as conn:
            return self._holder(conn, access_token, "access")

    def refresh(self, refresh_token: str) -> tuple[SandboxAccount, Tokens]:
        """New tokens for a valid refresh token, which is used up (refresh tokens rotate)."""
        with self._write() as conn:
            account = self._holder(conn, refresh_token, "refresh")
            conn.execute("UPDATE tokens SET valid = 0 WHERE hash = ?", (_hash(refresh_token),))
            return account, self._issue(conn, account.id)

    def expire_access_tokens(self) -> None:
        """Make every access token invalid (refresh tokens stay valid), as a platform's expiry would."""
        with self._write() as conn:
            conn.execute("UPDATE tokens SET valid = 0 WHERE kind = 'access'")

    def account_named(self, name: str) -> SandboxAccount | None:
        """The account called `name`, if it exists."""
        with self._read() as conn:
            row = conn.execute("SELECT * FROM accounts WHERE name = ?", (name,)).fetchone()
        return SandboxAccount(row["id"], row["name"], row["created_at"]) if row else None

    def accounts(self) -> list[SandboxAccount]:
        """Every account, by name."""
        with self._read() as conn:
            rows = conn.execute("SELECT * FROM accounts ORDER BY name").fetchall()
        return [SandboxAccount(r["id"], r["name"], r["created_at"]) for r in rows]

    # ----- posts ---------------------------------------------------------------------------------
    def publish(
        self, account_id: str, parts: list[tuple[str, list[dict[str, Any]]]], idempotency_key: str = ""
    ) -> tuple[list[FeedPost], Fault | None]:
        """Store a thread whole (or return the one stored under the same idempotency key).

        The next fault asked for this account is taken in the same transaction: a `timeout_after_store`
        fault still stores the thread; any other stores nothing. The caller raises the matching failure.
        """
        with self._write() as conn:
            fault = self._take_fault(conn, account_id)
            if fault is not None and fault.kind != "timeout_after_store":
                return [], fault
            if idempotency_key:
                stored = self._thread_with_key(conn, account_id, idempotency_key)
                if stored:
                    return stored, fault
            created = now_text()
            posts: list[FeedPost] = []
            for position, (text, media) in enumerate(parts):
                post_id = secrets.token_hex(8)
                reply_to = posts[-1].id if posts else None
                root_id = posts[0].id if posts else post_id
                post = FeedPost(
                    post_id, account_id, root_id, position, text, created, media, idempotency_key, reply_to
                )
                conn.execute(
                    "INSERT INTO posts (id, account_id, root_id, position, reply_to, text, media, "
                    "idempotency_key, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        post_id,
                        account_id,
                        root_id,
                        position,
                        reply_to,
                        text,
                        json.dumps(media),
                        idempotency_key,
                        created,
                    ),
                )
                posts.append(post)
            return posts, fault

    def _thread_with_key(self, conn: sqlite3.Connection, account_id: str, key: str) -> list[FeedPost]:
        rows = conn.execute(
            "SELECT * FROM posts WHERE account_id = ? AND idempotency_key = ? ORDER BY created_at, position",
            (account_id, key),
        ).fetchall()
        return [_post(r) for r in rows]

    def find(self, account_id: str, idempotency_key: str, first_text: str, since: datetime) -> list[FeedPost]:
        """The newest thread of this account stored since `since` under the key (or, without one, the text)."""
        with self._read() as conn:
            if idempotency_key:
                rows = conn.execute(
                    "SELECT root_id FROM posts WHERE account_id = ? AND idempotency_key = ? "
                    "AND created_at >= ? ORDER BY created_at DESC LIMIT 1",
                    (account_id, idempotency_key, time_text(since)),
                ).fetchall()
            else:
                rows = conn.execute(
                    "SELECT root_id FROM posts WHERE account_id = ? AND position = 0 AND text = ? "
                    "AND created_at >= ? ORDER BY created_at DESC LIMIT 1",
                    (account_id, first_text, time_text(since)),
                ).fetchall()
            if not rows:
                return []
            parts = conn.execute(
                "SELECT * FROM posts WHERE root_id = ? ORDER BY position", (rows[0]["root_id"],)
            ).fetchall()
        return [_post(r) for r in parts]

    def parent_of(self, post_id: str) -> str | None:
        """The id of the post this one replies to (None for a first part, or an unknown id)."""
        with self._read() as conn:
            row = conn.execute("SELECT reply_to FROM posts WHERE id = ?", (post_id,)).fetchone()
        return row["reply_to"] if row else None

    def delete(self, account_id: str, post_id: str) -> bool:
        """Delete one post of this account; False when it is already gone, NotYours for another's."""
        with self._write() as conn:
            row = conn.execute("SELECT account_id FROM posts WHERE id = ?", (post_id,)).fetchone()
            if row is None:
                return False
            if row["account_id"] != account_id:
                raise NotYours(f"sandbox post {post_id} belongs to another sandbox account")
            conn.execute("DELETE FROM posts WHERE id = ?", (post_id,))
            return True

    def threads(self, account_id: str, limit: int = 100) -> list[list[FeedPost]]:
        """The account's threads, newest first, each with its remaining parts in order."""
        with self._read() as conn:
            roots = conn.execute(
                "SELECT root_id, MIN(created_at) AS at FROM posts WHERE account_id = ? "
                "GROUP BY root_id ORDER BY at DESC LIMIT ?",
                (account_id, limit),
            ).fetchall()
            found = []
            for root in roots:
                rows = conn.execute(
                    "SELECT * FROM posts WHERE root_id = ? ORDER BY position", (root["root_id"],)
                ).fetchall()
                found.append([_post(r) for r in rows])
        return found

    def texts(self) -> list[str]:
        """The text of every stored post (of every account)."""
        with self._read() as conn:
            return [r["text"] for r in conn.execute("SELECT text FROM posts ORDER BY created_at, position")]

    # ----- faults --------------------------------------------------------------------------------
    def fail_next(self, kind: str, *, retry_after_s: float = 30.0, account_id: str | None = None) -> None:
        """Make the next publish (of one account, or of any) fail as `kind` (one of FAULTS)."""
        if kind not in FAULTS:
            raise ValueError(f"unknown fault {kind!r}; one of {', '.join(FAULTS)}")
        with self._write() as conn:
            conn.execute(
                "INSERT INTO faults (account_id, kind, retry_after_s) VALUES (?, ?, ?)",
                (account_id, kind, retry_after_s),
            )

    def _take_fault(self, conn: sqlite3.Connection, account_id: str) -> Fault | None:
        row = conn.execute(
            "SELECT * FROM faults WHERE account_id IS NULL OR account_id = ? ORDER BY seq LIMIT 1",
            (account_id,),
        ).fetchone()
        if row is None:
            return None
        conn.execute("DELETE FROM faults WHERE seq = ?", (row["seq"],))
        return Fault(row["kind"], row["retry_after_s"])
