"""`ocma chat` (a streaming terminal chat that asks for approvals inline) and `ocma mcp` (the MCP server).

Only click is imported at module level: these commands are added to every `ocma` invocation.
"""

from __future__ import annotations

import getpass
import json
import sys
from datetime import UTC, datetime
from typing import Any

import click

from ocma_core.app.cli import examples


def _preflight(ocma: Any, workspace_id: str) -> None:
    """Say exactly what to set when no model or key is configured (before the user types anything)."""
    from ocma_core.app.content import text_request
    from ocma_core.errors import OcmaError

    try:
        text_request(ocma, workspace_id, [{"role": "user", "content": ""}])
    except OcmaError as exc:
        from ocma_core.app.cli import report_error

        report_error(exc)
        sys.exit(1)


def _short(arguments: Any, width: int = 90) -> str:
    """Compact arguments: long strings cut, lists counted."""
    if isinstance(arguments, str):
        raw: str = arguments
        try:
            arguments = json.loads(raw or "{}")
        except ValueError:
            return raw[:width]
    parts = []
    for key, value in (arguments or {}).items():
        if isinstance(value, str):
            shown = repr(value if len(value) <= 28 else value[:25] + "...")
        elif isinstance(value, list | dict):
            shown = f"[{len(value)}]"
        else:
            shown = repr(value)
        parts.append(f"{key}={shown}")
    text = ", ".join(parts)
    return text if len(text) <= width else text[: width - 3] + "..."


class Renderer:
    """Prints a turn's events: streamed text as it comes, tool calls on one compact line each."""

    def __init__(self) -> None:
        self.mid_line = False

    def _newline(self) -> None:
        if self.mid_line:
            click.echo()
            self.mid_line = False

    def __call__(self, event: Any) -> None:
        """Show one AgentEvent."""
        data = event.data
        if event.kind == "text":
            click.echo(data["delta"], nl=False)
            self.mid_line = not data["delta"].endswith("\n")
        elif event.kind == "tool_call":
            self._newline()
            click.secho(f"  > {data['name']}({_short(data['arguments'])})", dim=True)
        elif event.kind == "tool_result":
            mark, colour = ("ok", "green") if data["ok"] else ("error", "red")
            click.secho(
                f"    {mark}: {data['summary'] if data['ok'] else data['error']}", fg=colour, dim=data["ok"]
            )
        elif event.kind == "approval" and data.get("status") == "pending":
            click.secho(
                f"    waiting for approval: post {data['post_id']} ({data['how_to_approve']})", fg="yellow"
            )
        elif event.kind == "error":
            self._newline()
            click.secho(f"Error: {data['message']}", fg="red", err=True)
            fix = (data.get("fixes") or {}).get("cli") or data.get("fix")
            if fix:
                click.secho(f"Fix: {fix}", fg="red", err=True)
        elif event.kind == "done":
            self._newline()


def ask_approval(request: Any) -> bool:
    """The inline approval prompt: a person reads what would go out and answers."""
    click.echo()
    click.secho(f"Approval needed: {request.action} post {request.post_id}", fg="yellow", bold=True)
    if request.accounts:
        click.echo(f"  to:   {', '.join(request.accounts)}")
    if request.when:
        click.echo(f"  when: {request.when}")
    click.echo(f"  text: {request.text}")
    click.echo(f"  why:  {request.reason}")
    if request.outside_sources:
        click.secho(
            f"  note: this follows outside content ({', '.join(request.outside_sources)}); check it was your request.",
            fg="red",
        )
    return click.confirm("Approve?", default=False)


@examples(
    "ocma chat",
    'ocma chat -m "Draft a post about our Saturday opening for Bluesky"',
    "ocma chat --thread launch",
)
@click.command("chat")
@click.option("--workspace", "-w", default=None, help="Workspace name or id (default: the only one).")
@click.option("--thread", "-t", default=None, help="Continue a named conversation (default: a new session).")
@click.option("--message", "-m", "messages", multiple=True, help="Send this message and exit (repeatable).")
def chat(workspace: str | None, thread: str | None, messages: tuple[str, ...]) -> None:
    """Chat with the agent; it asks you before anything goes public.

    It drafts, validates, schedules and reports with the same tools as the API and the MCP server.
    """
    import asyncio

    from ocma_agent.context import Caller
    from ocma_agent.loop import run_turn
    from ocma_core.app.cli import context, workspace_id
    from ocma_core.app.models import Role

    ocma = context()
    ws = workspace_id(ocma, workspace)
    _preflight(ocma, ws)
    user = getpass.getuser()
    key = f"cli:{user}:{thread or datetime.now(UTC).strftime('%Y%m%dT%H%M%S')}"
    caller = Caller("cli", user=user, role=Role.OWNER)
    renderer = Renderer()

    def turn(text: str) -> bool:
        result = asyncio.run(
            run_turn(ocma, ws, key, text, caller=caller, on_event=renderer, approver=ask_approval)
        )
        return result.ok

    if messages:
        ok = all(turn(text) for text in messages)
        sys.exit(0 if ok else 1)
    click.secho(f"OCMA agent, thread {key}. Empty line or Ctrl-D to leave.", dim=True)
    while True:
        try:
            text = click.prompt("you", prompt_suffix="> ", default="", show_default=False)
        except (EOFError, click.Abort):
            break
        if not text.strip():
            break
        turn(text)


@examples(
    "ocma mcp  # stdio, for Claude Desktop and other local clients", "ocma mcp --transport http --port 8766"
)
@click.command("mcp")
@click.option("--workspace", "-w", default=None, help="Workspace for stdio (default: the only one).")
@click.option(
    "--transport",
    type=click.Choice(["stdio", "http"]),
    default="stdio",
    show_default=True,
    help="stdio for a local client; http serves streamable HTTP (API key required).",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="HTTP: address to listen on.")
@click.option("--port", default=8765, show_default=True, help="HTTP: port.")
def mcp(workspace: str | None, transport: str, host: str, port: int) -> None:
    """Serve the agent's tools over MCP (stdio or streamable HTTP).

    stdio is for Claude Desktop and other local clients; over HTTP every request needs an API key.
    """
    from ocma_agent import mcp_server
    from ocma_core.app.cli import context, workspace_id

    ocma = context()
    if transport == "stdio":
        mcp_server.run_stdio(ocma, workspace_id(ocma, workspace), user=getpass.getuser())
    else:
        click.echo(
            f"MCP over streamable HTTP at http://{host}:{port}/mcp (Authorization: Bearer <API key>)",
            err=True,
        )
        mcp_server.run_http(ocma, host=host, port=port)
