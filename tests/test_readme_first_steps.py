"""The README's first steps, run as written: `ocma` processes against a fresh data directory (embedded mode).

The server is started first (the README's "Two commands"), then every command of the "First steps" blocks
runs in order in its own process, as a newcomer would type it; the chat uses a scripted OpenAI-compatible
model on loopback and answers its approval prompt with "y". It ends with a post published to the sandbox,
which a restarted server and a new `ocma` process still see.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from ocma_core.ai.testing.fake_openai import DEFAULT_KEY, FakeOpenAI, Reply

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"


def first_steps_blocks() -> list[list[str]]:
    """The command lines of each ```bash block of the README's "First steps" section (comments removed)."""
    text = README.read_text(encoding="utf-8")
    section = text.split("\n## First steps\n", 1)[1].split("\n### ", 1)[0]
    blocks = re.findall(r"```bash\n(.*?)```", section, flags=re.S)
    return [[line.split("  #", 1)[0].strip() for line in b.splitlines() if line.strip()] for b in blocks]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(predicate: Callable[[], bool], limit_s: float = 60.0) -> bool:
    """Poll until `predicate` holds (a deadline for a hung run, not a timing assertion)."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def get(url: str, api_key: str = "") -> tuple[int, str]:
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=5) as response:
            return response.status, response.read().decode("utf-8")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode("utf-8")
    except OSError:
        return 0, ""


class Newcomer:
    """A clean machine: its own HOME, data directory and working directory, and no OCMA_* settings."""

    def __init__(self, tmp: Path) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.cwd = tmp / "clone"
        self.cwd.mkdir()
        env = {k: v for k, v in os.environ.items() if not k.startswith("OCMA_")}
        env.update(
            HOME=str(tmp / "home"),
            XDG_DATA_HOME=str(tmp / "home" / ".local" / "share"),
            OCMA_PORT=str(self.port),
            OCMA_PUBLIC_URL=self.base,
            LITELLM_LOCAL_MODEL_COST_MAP="True",  # litellm must not fetch its price list from the internet
        )
        self.env = env
        self.server: subprocess.Popen[bytes] | None = None

    def ocma(self, args: list[str], *, stdin: str = "", extra_env: dict[str, str] | None = None) -> str:
        """Run one `ocma` command to completion; its output (a failure shows everything it printed)."""
        done = subprocess.run(
            [sys.executable, "-m", "ocma_core.cli", *args],
            cwd=self.cwd,
            env={**self.env, **(extra_env or {})},
            input=stdin,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, f"ocma {shlex.join(args)} failed:\n{done.stdout}\n{done.stderr}"
        return done.stdout

    def serve(self) -> None:
        """`python3 dev.py serve` (which runs `ocma serve` from the installed environment)."""
        self.server = subprocess.Popen(
            [sys.executable, "-m", "ocma_core.cli", "serve"],
            cwd=self.cwd,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        assert wait_for(lambda: get(self.base + "/healthz")[0] == 200), "the server did not come up"

    def stop(self) -> None:
        if self.server is not None:
            self.server.terminate()
            self.server.wait(timeout=30)
            self.server = None


@pytest.fixture
def newcomer(tmp_path: Path) -> Iterator[Newcomer]:
    person = Newcomer(tmp_path)
    try:
        yield person
    finally:
        person.stop()


def scripted_agent(account: Callable[[], str], when: str) -> Callable[[dict[str, Any]], Reply | str]:
    """A model that drafts the README's webinar post, schedules it for `when`, then says so."""

    def respond(body: dict[str, Any]) -> Reply | str:
        if not body.get("tools"):
            return "ok"
        results = [json.loads(m["content"]) for m in body["messages"] if m.get("role") == "tool"]
        if not results:
            call = {
                "name": "draft_post",
                "arguments": {"text": "Our webinar starts at 10", "account_ids": [account()]},
            }
            return Reply(tool_calls=[call])
        if len(results) == 1:
            call = {"name": "schedule_post", "arguments": {"post_id": results[0]["post_id"], "when": when}}
            return Reply(tool_calls=[call])
        return "Scheduled on the sandbox for tomorrow at 09:00, after your approval."

    return respond


@pytest.mark.timeout(900)  # about a dozen `ocma` processes; a guard against a hang, not a speed check
def test_the_readme_first_steps_end_with_a_post_on_the_sandbox_that_survives_a_restart(
    newcomer: Newcomer,
) -> None:
    steps, chat = first_steps_blocks()[:2]
    assert steps[0] == "source .venv/bin/activate"  # puts `ocma` on the PATH: here, sys.executable's
    commands = [shlex.split(line) for line in steps[1:]]
    assert [c[:2] for c in commands] == [
        ["ocma", "init"],
        ["ocma", "accounts"],
        ["ocma", "posts"],
        ["ocma", "calendar"],
    ]
    newcomer.serve()

    init, connect, post, calendar = commands
    initialised = newcomer.ocma(init[1:])
    api_key = re.search(r"Owner API key.*: (ocma_\S+)", initialised)
    assert api_key, initialised
    connected = newcomer.ocma(connect[1:])
    found = re.search(r"Connected sandbox account demo \((\w+)\)", connected)
    assert found, connected
    account_id = found.group(1)
    created = newcomer.ocma([account_id if a == "ACCOUNT_ID" else a for a in post[1:]])
    post_id = re.search(r"Post (\w+)", created)
    assert post_id, created

    def api(path: str) -> Any:
        status, body = get(newcomer.base + path, api_key.group(1))
        assert status == 200, body
        return json.loads(body)

    def settled() -> bool:
        return api(f"/v1/posts/{post_id.group(1)}")["status"] in ("published", "failed")

    assert wait_for(settled)
    shown = api(f"/v1/posts/{post_id.group(1)}")
    assert shown["status"] == "published", shown
    assert shown["targets"][0]["url"].startswith(newcomer.base + "/sandbox/demo#post-")
    status, page = get(newcomer.base + "/sandbox/demo")
    assert status == 200 and "Hello from OCMA" in page and "SANDBOX" in page
    week = newcomer.ocma(calendar[1:])
    assert "Hello from OCMA" in week and "published" in week

    # The chat: a configured model (here a scripted one on loopback), and the approval answered "y".
    [chat_line] = chat
    zone = ZoneInfo("Europe/Berlin")
    tomorrow_9 = datetime.combine(datetime.now(zone).date() + timedelta(days=1), datetime.min.time()).replace(
        hour=9
    )
    with FakeOpenAI() as model:
        model.responder = scripted_agent(lambda: account_id, tomorrow_9.strftime("%Y-%m-%dT%H:%M"))
        said = newcomer.ocma(
            shlex.split(chat_line)[1:],
            stdin="y\n",
            extra_env={
                "OCMA_MODEL": "openai/ocma-readme-test",
                "OCMA_MODEL_API_BASE": model.api_base,
                "OCMA_MODEL_API_KEY": DEFAULT_KEY,
            },
        )
    assert "Approval needed: schedule post" in said and "approval approved" in said, said
    week = newcomer.ocma([*calendar[1:], "--json"])
    planned = [p for p in json.loads(week)["posts"] if p["text"] == "Our webinar starts at 10"]
    assert [(p["status"], p["at"][:16]) for p in planned] == [
        ("scheduled", tomorrow_9.strftime("%Y-%m-%dT%H:%M"))
    ]

    # A restart: a new server process still has the post, and its sandbox feed shows it.
    newcomer.stop()
    newcomer.serve()
    status, page = get(newcomer.base + "/sandbox/demo")
    assert status == 200 and "Hello from OCMA" in page
    assert [p["body"] for p in api("/v1/posts?status=published")] == ["Hello from OCMA"]
