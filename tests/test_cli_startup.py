"""`ocma --help` stays fast: it imports no platform plugin, no asyncio and no heavy library."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("asyncio", "regex", "re2", "httpx", "sqlalchemy", "pydantic", "fastapi", "ocma_x", "ocma_bluesky")


def test_help_imports_no_plugin_and_no_heavy_module() -> None:
    argv = ["--help"]
    probe = (
        "import sys\nfrom ocma_core.cli.main import main\n"
        f"try:\n    main({argv!r})\nexcept SystemExit:\n    pass\n"
        f"print('LOADED', sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r}))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True
    )
    assert "Commands:" in done.stdout
    assert done.stdout.strip().splitlines()[-1] == "LOADED []"


def test_help_lists_plugin_commands_declared_as_entry_points() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "ocma_core.cli", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert "chat " in done.stdout and "slack " in done.stdout


def test_a_disabled_plugin_contributes_no_command() -> None:
    from ocma_core.plugins import command_entry_points

    assert "slack" in command_entry_points({})
    assert "slack" not in command_entry_points({"OCMA_DISABLED_PLUGINS": "slack"})
    assert set(command_entry_points({"OCMA_LOAD_PLUGINS": "agent"})) == {"automations", "chat", "mcp"}
