#!/usr/bin/env python3
"""Set up and run OCMA from a fresh clone with nothing but Python 3.11+.

    python3 dev.py serve     # install (first run), then serve OCMA on http://127.0.0.1:8000
    python3 dev.py test      # install (first run), then run the whole test suite
    python3 dev.py lint      # ruff (lint + format check) and mypy
    python3 dev.py ocma ...  # any ocma command, e.g. `python3 dev.py ocma init`

Installation uses uv (pinned below) and the lock file, into ./.venv; uv itself lives in ./.tools. It keeps
what a person installed on top (`python3 dev.py ocma plugins install ...`), and a new workspace package (a
plugin directory under plugins/) is added to uv.lock first.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

UV_VERSION = "0.13.9"
ROOT = Path(__file__).resolve().parent
TOOLS = ROOT / ".tools"
VENV = ROOT / ".venv"
BIN = "Scripts" if os.name == "nt" else "bin"


def run(cmd: list[str], **kw: object) -> int:
    """Run a command in the repository root and return its exit status."""
    return subprocess.call(cmd, cwd=ROOT, **kw)  # type: ignore[arg-type]


def uv() -> str:
    """The pinned uv, installed into .tools on first use."""
    exe = TOOLS / BIN / "uv"
    if not exe.exists():
        print(f"Installing uv {UV_VERSION} into {TOOLS} ...", flush=True)
        if TOOLS.exists():
            shutil.rmtree(TOOLS)
        subprocess.check_call([sys.executable, "-m", "venv", str(TOOLS)])
        subprocess.check_call(
            [
                str(TOOLS / BIN / "python"),
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                f"uv=={UV_VERSION}",
            ]
        )
    return str(exe)


def _install_stamp() -> str:
    """What the installed environment was built from: the lock file, the interpreter and uv's version."""
    digest = hashlib.sha256((ROOT / "uv.lock").read_bytes())
    digest.update(f"{sys.executable}\0{UV_VERSION}".encode())
    return digest.hexdigest()


def _unlocked_members() -> list[str]:
    """Workspace package directories (e.g. a new plugins/platforms/NAME) whose package uv.lock does not list."""
    lock = (ROOT / "uv.lock").read_text()
    missing = []
    for member in [ROOT / "agent", *(ROOT / "bots").glob("*"), *(ROOT / "plugins").glob("*/*")]:
        pyproject = member / "pyproject.toml"
        if pyproject.exists():
            for line in pyproject.read_text().splitlines():
                if line.startswith("name = "):
                    name = line.split("=", 1)[1].strip().strip('"')
                    if f'name = "{name}"' not in lock:
                        missing.append(name)
                    break
    return missing


def sync() -> None:
    """Install every workspace package and the dev tools exactly as locked, compiling bytecode once.

    Without bytecode every `ocma` command and worker start compiles its imports again (several times slower,
    and every time where PYTHONDONTWRITEBYTECODE is set). Compiling walks all of site-packages, so it runs only
    when the lock, interpreter or uv changed since the last install (the stamp in .venv)."""
    if _unlocked_members():
        print(f"New workspace package(s) {', '.join(_unlocked_members())}: updating uv.lock ...", flush=True)
        if run([uv(), "lock", "--python", sys.executable, "--quiet"]) != 0:
            sys.exit("Updating uv.lock failed (uv lock).")
    stamp_file, stamp = VENV / ".ocma-install-stamp", _install_stamp()
    compiled = stamp_file.exists() and stamp_file.read_text() == stamp
    # --inexact: keep what a person installed on top (`ocma plugins install ...`); only add and update.
    cmd = [uv(), "sync", "--frozen", "--inexact", "--all-packages", "--python", sys.executable, "--quiet"]
    status = run(cmd if compiled else [*cmd, "--compile-bytecode"])
    if status != 0:
        sys.exit(f"Installing dependencies failed (uv sync exited {status}).")
    if not compiled:
        stamp_file.write_text(stamp)


def venv_bin(name: str) -> str:
    """A program of the project's virtual environment."""
    return str(VENV / BIN / name)


def _answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def service_env() -> dict[str, str]:
    """Point the tests at local PostgreSQL and Redis when they answer (tests needing them skip otherwise)."""
    env = dict(os.environ)
    pg = env.get("OCMA_TEST_POSTGRES_URL") or "postgresql://postgres@127.0.0.1:5432/test"
    if "OCMA_TEST_POSTGRES_URL" not in env and _answers("127.0.0.1", 5432):
        probe = f"import psycopg; psycopg.connect({pg!r}, connect_timeout=3).close()"
        if run([venv_bin("python"), "-c", probe], stderr=subprocess.DEVNULL) == 0:
            env["OCMA_TEST_POSTGRES_URL"] = pg
    if "OCMA_TEST_REDIS_URL" not in env and _answers("127.0.0.1", 6379):
        env["OCMA_TEST_REDIS_URL"] = "redis://127.0.0.1:6379/15"
    return env


def typed_packages() -> list[str]:
    """Every package of the workspace (core, agent, bots, each plugin), each type-checked strictly."""
    members = [ROOT / "agent", *sorted((ROOT / "bots").glob("*")), *sorted((ROOT / "plugins").glob("*/*"))]
    found = ["ocma_core"]
    for member in members:
        if (member / "pyproject.toml").exists():
            found += [str(pkg.relative_to(ROOT)) for pkg in sorted(member.glob("ocma_*")) if pkg.is_dir()]
    return found


def main(argv: list[str]) -> int:
    """Dispatch the sub-command."""
    command, rest = (argv[0], argv[1:]) if argv else ("help", [])
    if command not in ("serve", "test", "lint", "ocma"):
        print(__doc__)
        return 0 if command in ("help", "-h", "--help") else 2
    sync()
    if command == "serve":
        return run([venv_bin("ocma"), "serve", *rest])
    if command == "ocma":
        return run([venv_bin("ocma"), *rest])
    if command == "lint":
        status = run([venv_bin("ruff"), "check", "."])
        status |= run([venv_bin("ruff"), "format", "--check", "."])
        status |= run([venv_bin("mypy"), "--strict", *typed_packages()])
        return status
    env = service_env()
    for name, var in (("PostgreSQL", "OCMA_TEST_POSTGRES_URL"), ("Redis", "OCMA_TEST_REDIS_URL")):
        print(f"{name}: {'using ' + env[var] if var in env else 'not available; its tests will skip'}")
    return run([venv_bin("python"), "-m", "pytest", *rest], env=env)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
