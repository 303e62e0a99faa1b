"""`ocma doctor`: check a setup end to end and say, for each problem, what to do.

Each check returns Findings; an "error" needs fixing before OCMA can work (the command exits 1), a "warning"
will hurt later (an account about to expire, a loopback public URL while a platform fetches media)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import text

from ocma_core.config import Settings, load_settings
from ocma_core.context import Ocma
from ocma_core.errors import ConfigError, OcmaError

Level = Literal["ok", "warning", "error"]
EXPIRY_WARNING = timedelta(days=7)
SKEW_TOLERANCE_S = 5.0
_LOOPBACK = ("localhost", "127.", "[::1]", "0.0.0.0")


@dataclass(frozen=True)
class Finding:
    """One result: which check, how bad, what was found and what to do."""

    check: str
    level: Level
    message: str
    fix: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)


def run_doctor() -> list[Finding]:
    """Every check, in order; later checks are skipped when what they need is broken."""
    try:
        settings = load_settings()
    except ConfigError as exc:
        return [Finding("configuration", "error", exc.message, exc.fix)]
    findings = list(check_configuration(settings))
    ocma = Ocma(settings)
    database = list(check_database(ocma))
    findings += database
    if any(f.level == "error" for f in database):
        return findings
    from ocma_core.services.doctor_reach import check_public_url_reachable

    checks = (
        check_keys,
        check_redis,
        check_plugins,
        check_public_url,
        check_public_url_reachable,
        check_accounts,
    )
    for check in checks:
        try:
            findings += list(check(ocma))
        except OcmaError as exc:
            findings.append(Finding(check.__name__.removeprefix("check_"), "error", exc.message, exc.fix))
    return findings


def check_configuration(settings: Settings) -> Iterator[Finding]:
    """Which settings files are read, and whether files holding secrets are private."""
    from ocma_core.settings_files import settings_layers

    files = [
        layer
        for layer in settings_layers(data_dir=settings.data_dir)[1:]
        if layer.path and layer.path.is_file()
    ]
    described = [f"{layer.label}{'' if layer.values else ' (no values set)'}" for layer in files]
    yield Finding(
        "configuration",
        "ok",
        "Settings from the environment" + "".join(f", then {d}" for d in described) + ".",
    )
    private = [settings.key_file, settings.settings_file, settings.data_dir / "ocma.db"]
    for path in private:
        if path.is_file() and path.stat().st_mode & 0o077:
            yield Finding(
                "configuration",
                "warning",
                f"{path} can be read by other users of this machine (mode {path.stat().st_mode & 0o777:o}).",
                f"chmod 600 {path}",
            )


def check_database(ocma: Ocma) -> Iterator[Finding]:
    """Reachability, server version, clock and migration state."""
    from ocma_core.db.migrate import current_revision, head_revision

    url = ocma.engine.url.render_as_string(hide_password=True)
    try:
        with ocma.engine.connect() as conn:
            if ocma.settings.is_sqlite:
                version = "SQLite " + str(conn.execute(text("select sqlite_version()")).scalar())
                skew = None
            else:
                version = str(conn.execute(text("SHOW server_version")).scalar())
                version = f"PostgreSQL {version}"
                skew = _skew(lambda: conn.execute(text("SELECT now()")).scalar())
    except Exception as exc:
        yield Finding(
            "database",
            "error",
            f"The database at {url} does not answer: {type(exc).__name__}: {exc}".splitlines()[0],
            "Check OCMA_DATABASE_URL and that the server runs and accepts this user.",
        )
        return
    yield Finding("database", "ok", f"{version} at {url}.")
    if skew is not None:
        yield _skew_finding("database", skew)
    current, head = current_revision(ocma.engine), head_revision()
    if current is None:
        yield Finding("migrations", "error", "The database has no OCMA schema yet.", "Run `ocma init`.")
    elif current != head:
        yield Finding(
            "migrations",
            "error",
            f"The schema is at {current}; this OCMA needs {head}.",
            "Back up the database, then run `ocma db upgrade`.",
        )
    else:
        yield Finding("migrations", "ok", f"Schema at {head} (current).")


def _skew(server_now: Callable[[], Any]) -> tuple[float, float]:
    """(server clock minus this machine's, uncertainty) in seconds, from one round trip."""
    before = time.time()
    value = server_now()
    after = time.time()
    if isinstance(value, datetime):
        server = value.timestamp()
    else:  # Redis TIME: (seconds, microseconds)
        server = float(value[0]) + float(value[1]) / 1e6
    return server - (before + after) / 2, (after - before) / 2


def _skew_finding(where: str, measured: tuple[float, float]) -> Finding:
    skew, uncertainty = measured
    if abs(skew) - uncertainty > SKEW_TOLERANCE_S:
        return Finding(
            "clock",
            "warning",
            f"This machine's clock is {-skew:+.1f} s off the {where} server's (±{uncertainty:.2f} s).",
            "Run NTP (chrony or systemd-timesyncd) on every OCMA machine: due times and leases compare clocks.",
        )
    return Finding("clock", "ok", f"Within {abs(skew) + uncertainty:.2f} s of the {where} server's clock.")


def check_keys(ocma: Ocma) -> Iterator[Finding]:
    """The keys in force decrypt every stored secret; secrets in data-directory files are encrypted."""
    from ocma_core.services import vault_inventory
    from ocma_core.services.keys import check_secrets, keys_source

    settings = ocma.settings
    if settings.encryption_keys and settings.key_file.is_file():
        from ocma_core.crypto import read_key_file

        if read_key_file(settings.key_file) != ocma.encryption_keys:
            yield Finding(
                "keys",
                "warning",
                f"{keys_source(ocma)} is in force; the different key(s) in {settings.key_file} are not used.",
                "Keep keys in one place: remove the file once `ocma keys check` passes, or unset "
                "OCMA_ENCRYPTION_KEYS after putting its keys in the file.",
            )
    result = check_secrets(ocma)
    yield Finding("keys", "ok" if result.ok else "error", result.message(), result.fix or None)
    for where in vault_inventory.plain_secrets_in_files(settings.data_dir):
        yield Finding(
            "keys",
            "warning",
            f"A secret is stored in plain text: {where}.",
            "Update the plugin that wrote it (current plugins encrypt it with the vault).",
        )


def check_redis(ocma: Ocma) -> Iterator[Finding]:
    """Redis reachability, version and clock (the embedded queue when OCMA_REDIS_URL is unset)."""
    url = ocma.settings.redis_url
    if not url:
        yield Finding("redis", "ok", "Not configured: the embedded queue (one `ocma serve` process).")
        return
    import redis

    client = redis.Redis.from_url(url, socket_timeout=3, socket_connect_timeout=3)
    try:
        version = client.info("server").get("redis_version", "?")
        skew = _skew(client.time)
    except redis.RedisError as exc:
        yield Finding(
            "redis",
            "error",
            f"Redis at {_hide_password(url)} does not answer: {exc}.",
            "Check OCMA_REDIS_URL and that Redis runs.",
        )
        return
    finally:
        client.close()
    yield Finding("redis", "ok", f"Redis {version} at {_hide_password(url)}.")
    yield _skew_finding("Redis", skew)


def _hide_password(url: str) -> str:
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return url.split("@")[-1]


REINSTALL = "Reinstall or upgrade it, or list it in OCMA_DISABLED_PLUGINS; `ocma plugins` shows details."


def check_plugins(ocma: Ocma) -> Iterator[Finding]:
    """Plugins that failed to load or to register."""
    from ocma_core.plugins import plugin_listing
    from ocma_core.registry import PLATFORMS

    rows = plugin_listing()
    broken = [row for row in rows if row.get("error")]
    settings = PLATFORMS.config_errors()  # an operator's setting is wrong, not the plugin
    for row in broken:
        error, fix = str(row.get("error")), REINSTALL
        wrong = next((e for e in settings if e.fix and e.message in error), None)
        if wrong is not None and wrong.fix:
            error, fix = error.replace(f" {wrong.fix}", ""), wrong.fix  # the fix said once, as the fix
        yield Finding("plugins", "error", f"Plugin {row.get('name')} failed: {error}", fix)
    if not broken:
        yield Finding("plugins", "ok", f"{len(rows)} plugins loaded without errors.")


def check_public_url(ocma: Ocma) -> Iterator[Finding]:
    """A loopback OCMA_PUBLIC_URL while an installed platform downloads media from it."""
    from ocma_core.registry import get_platforms

    public = ocma.settings.public_url
    host = public.split("://", 1)[-1].split("/", 1)[0]
    fetching = sorted(name for name, p in get_platforms().items() if p.needs_public_media)
    if host.startswith(_LOOPBACK) and fetching:
        yield Finding(
            "public_url",
            "warning",
            f"OCMA_PUBLIC_URL is {public}, but {', '.join(fetching)} download media from it.",
            "Set OCMA_PUBLIC_URL to an https address the platforms can reach (a reverse proxy or tunnel).",
        )
    else:
        yield Finding("public_url", "ok", f"OCMA_PUBLIC_URL is {public}.")


def check_accounts(ocma: Ocma) -> Iterator[Finding]:
    """Accounts needing reconnection, and those whose authorisation ends within a week."""
    from sqlmodel import select

    from ocma_core.db.models import Account, AccountStatus

    soon = datetime.now(UTC) + EXPIRY_WARNING
    with ocma.session() as session:
        accounts = list(session.exec(select(Account)))
    problems = 0
    for account in accounts:
        name = f"{account.platform} @{account.handle} ({account.id})"
        if account.status is AccountStatus.NEEDS_RECONNECT:
            problems += 1
            yield Finding(
                "accounts",
                "warning",
                f"{name} needs reconnecting: {account.last_error or 'authorisation lost'}.",
                f"ocma accounts connect {account.platform}",
            )
            continue
        if account.status is not AccountStatus.CONNECTED:
            continue
        ends = account.refresh_expires_at if account.refresh_token_enc else account.expires_at
        if ends is not None and ends < soon:
            problems += 1
            yield Finding(
                "accounts",
                "warning",
                f"{name}: its authorisation ends {ends.isoformat(timespec='minutes')} and cannot be renewed "
                "without the person.",
                f"Reconnect it before then: ocma accounts connect {account.platform}",
            )
    if not problems:
        yield Finding("accounts", "ok", f"{len(accounts)} accounts, none expiring within 7 days.")
