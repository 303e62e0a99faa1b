"""Agent overhead: the framework's own time per turn, and the size of the tool schemas sent to the model.

A turn here is what a chat message costs end to end: load the workspace and thread, build the system prompt,
call the model (it asks for a tool), run the tool, record everything, call the model again (it answers),
record that. The model is a scripted OpenAI-compatible server on loopback that answers at once, reached through
the real litellm path (`openai/<name>` + api_base), so what remains is OCMA's own cost plus litellm's.

Baseline, in the same run: the bare `litellm.acompletion` calls of each turn, replayed with the exact request
bodies (messages, tools, max_tokens) against the same server. overhead = median(turn) - median(bare calls of a
turn). Schema tokens are counted with tiktoken (cl100k_base, offline: litellm ships the file).

Usage: .venv/bin/python benchmarks/agent_overhead.py [--turns 60] [--backend sqlite|postgres]
Last line: overhead_ms_per_turn=<ms> schema_tokens=<n>
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "example_platform"))
sys.path.insert(0, str(ROOT / "agent" / "tests"))

from cryptography.fernet import Fernet  # noqa: E402

from ocma_core.config import Settings  # noqa: E402
from ocma_core.context import Ocma  # noqa: E402
from ocma_core.db.engine import make_engine  # noqa: E402
from ocma_core.db.migrate import upgrade  # noqa: E402
from ocma_core.db.models import Role  # noqa: E402
from ocma_core.plugins import PluginHost, reset_host  # noqa: E402

PG_ADMIN = os.environ.get("OCMA_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _database(backend: str, data_dir: Path) -> tuple[str, Any]:
    """A migrated database URL and a cleanup function."""
    if backend == "sqlite":
        url = f"sqlite:///{data_dir / 'bench.db'}"
        engine = make_engine(url)
        upgrade(engine)
        engine.dispose()
        return url, lambda: None
    from sqlalchemy import text

    admin = make_engine(PG_ADMIN)
    name = f"ocma_bench_{uuid.uuid4().hex[:8]}"
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = admin.url.set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()

    def drop() -> None:
        from ocma_core.db.engine import dispose_engines

        dispose_engines()
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return url, drop


def _setup(ocma: Ocma, fake_platform: Any) -> tuple[str, str]:
    """A workspace with one FakeSocial account connected through its OAuth flow."""
    from ocma_core.services import accounts
    from ocma_core.services.workspaces import create_workspace

    workspace = create_workspace(ocma, "Bench team", timezone="Europe/Berlin")
    code, state = fake_platform.authorize(accounts.start_connect(ocma, workspace.id, "fakesocial"))
    account = asyncio.run(accounts.complete_connect(ocma, "fakesocial", state=state, code=code))
    return workspace.id, account.id


class ModelProcess:
    """The scripted model in its own process, so its Python does not compete with the measured one.

    It answers a request whose last message is the user's with a call of `tool`, and a request whose last
    message is a tool result with a short text: every turn is two model calls and one tool call.
    """

    def __init__(self, tool: str, arguments: dict[str, Any]) -> None:
        import json
        import subprocess

        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--serve-model", tool, json.dumps(arguments)],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        self.api_base = self.proc.stdout.readline().strip()
        self.bodies: list[dict[str, Any]] = []

    def stop(self) -> None:
        """End the process."""
        self.proc.terminate()
        self.proc.wait(timeout=10)


def serve_model(tool: str, arguments_json: str) -> None:
    """Run the scripted model until terminated (child process of the benchmark)."""
    import json
    import signal
    import threading

    from agent_model import ScriptedModel, call

    arguments = json.loads(arguments_json)

    def respond(body: dict[str, Any]) -> Any:
        last = body["messages"][-1]
        return "Done: here is the answer." if last["role"] == "tool" else call(tool, **arguments)

    server = ScriptedModel()
    server.responder = respond
    server.start()
    print(server.api_base, flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    stop.wait()
    server.stop()


async def _measure(ocma: Ocma, workspace_id: str, api_base: str, turns: int) -> dict[str, Any]:
    import litellm
    from agent_model import KEY, MODEL
    from ocma_agent import Caller, run_turn

    import ocma_core.ai.service as service

    original = service.complete_text
    sent: list[dict[str, Any]] = []

    async def recording(ocma: Ocma, workspace_id: str, messages: list[dict[str, Any]], **options: Any) -> Any:
        sent.append(
            {
                "messages": list(messages),
                "tools": options["tools"],
                "max_tokens": options["max_tokens"],
                "temperature": options["temperature"],
            }
        )
        return await original(ocma, workspace_id, messages, **options)

    service.complete_text = recording  # type: ignore[assignment]
    caller = Caller("api", user="bench", role=Role.EDITOR)
    turn_ms: list[float] = []
    bare_ms: list[float] = []
    warmup = 5
    for number in range(turns + warmup):
        thread = f"api:bench-{number % 10}"  # ten conversations that go on, as in chat
        sent.clear()
        started = time.perf_counter()
        result = await run_turn(
            ocma, workspace_id, thread, "show me the accounts", caller=caller, stream=False
        )
        elapsed = (time.perf_counter() - started) * 1000
        assert result.ok and result.steps == 2 and all(c["ok"] for c in result.tool_calls), result.as_dict()
        bodies = list(sent)
        # Baseline: the same two requests through bare litellm against the same server.
        started = time.perf_counter()
        for body in bodies:
            await litellm.acompletion(
                model=MODEL,
                api_base=api_base,
                api_key=KEY,
                messages=body["messages"],
                tools=body["tools"],
                max_tokens=body["max_tokens"],
                temperature=body["temperature"],
            )
        bare = (time.perf_counter() - started) * 1000
        if number >= warmup:
            turn_ms.append(elapsed)
            bare_ms.append(bare)
    service.complete_text = original  # type: ignore[assignment]
    turn_median, bare_median = statistics.median(turn_ms), statistics.median(bare_ms)
    return {
        "turn_ms": turn_median,
        "bare_ms": bare_median,
        "overhead_ms": turn_median - bare_median,
        "ratio": turn_median / bare_median,
        "p90_turn_ms": statistics.quantiles(turn_ms, n=10)[-1],
    }


def main() -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--turns", type=int, default=60)
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--serve-model", nargs=2, metavar=("TOOL", "ARGUMENTS"), help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.serve_model:
        serve_model(*options.serve_model)
        return

    import ocma_example_platform
    import ocma_litellm
    from agent_model import KEY, MODEL
    from ocma_agent.tokens import schema_tokens
    from ocma_agent.tools import core_tools

    from ocma_core.testing.fake_platform import CLIENT_ID, FakeSocial

    host = PluginHost()
    host.register(ocma_example_platform, name="ocma_example_platform")
    host.register(ocma_litellm, name="litellm")
    reset_host(host)
    with tempfile.TemporaryDirectory() as tmp, FakeSocial() as fake_platform:
        url, cleanup = _database(options.backend, Path(tmp))
        try:
            os.environ.update(
                OCMA_FAKESOCIAL_API_BASE=fake_platform.base_url,
                OCMA_FAKESOCIAL_CLIENT_ID=CLIENT_ID,
                OCMA_MODEL=MODEL,
                OCMA_MODEL_API_KEY=KEY,
            )
            settings = Settings(
                data_dir=Path(tmp),
                database_url=url,
                encryption_keys=Fernet.generate_key().decode(),
                _env_file=None,
            )  # type: ignore[call-arg]
            ocma = Ocma(settings)
            workspace_id, account_id = _setup(ocma, fake_platform)
            figures = {}
            for label, tool, arguments, turns in (
                ("read turn (list_accounts)", "list_accounts", {}, options.turns),
                (
                    "write turn (draft_post)",
                    "draft_post",
                    {"text": "Benchmark draft", "account_ids": [account_id]},
                    max(10, options.turns // 3),
                ),
            ):
                model = ModelProcess(tool, arguments)
                try:
                    os.environ["OCMA_MODEL_API_BASE"] = model.api_base
                    figures[label] = asyncio.run(_measure(ocma, workspace_id, model.api_base, turns))
                finally:
                    model.stop()
        finally:
            cleanup()
    tools = core_tools()
    tokens = schema_tokens([t.schema() for t in tools])
    tokens_o200k = schema_tokens([t.schema() for t in tools], "o200k_base")
    print(f"backend={options.backend} turns={options.turns} (2 model calls + 1 tool call per turn)")
    for label, found in figures.items():
        print(
            f"{label}: median turn {found['turn_ms']:.2f} ms (p90 {found['p90_turn_ms']:.2f}), bare litellm "
            f"{found['bare_ms']:.2f} ms, overhead {found['overhead_ms']:.2f} ms, ratio {found['ratio']:.2f}x"
        )
    read = figures["read turn (list_accounts)"]
    print(
        f"core tools: {len(tools)}, schema tokens cl100k_base={tokens} o200k_base={tokens_o200k} (target < 3000)"
    )
    print(f"target overhead < 30 ms: {'met' if read['overhead_ms'] < 30 else 'NOT met'}")
    print(f"overhead_ms_per_turn={read['overhead_ms']:.2f} schema_tokens={tokens}")


if __name__ == "__main__":
    main()
