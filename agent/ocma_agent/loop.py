"""The agent loop: one user message in, model and tool steps until the model answers (or the step limit).

Model calls go through `ocma_core.ai.service.complete_text` (litellm via the ocma-litellm provider), so the
workspace's model, keys, fallbacks, budgets and usage records apply exactly as everywhere else.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ocma_agent import prompt, store
from ocma_agent.context import Approver, Caller, ToolContext
from ocma_agent.events import AgentEvent, EventSink, TurnResult, error_data
from ocma_agent.settings import DEFAULT_CONTEXT_TOKENS, DEFAULT_MAX_STEPS, DEFAULT_REPLY_TOKENS
from ocma_agent.toolset import Toolset
from ocma_core.app import Ocma
from ocma_core.app.models import utcnow
from ocma_core.errors import OcmaError


@dataclass(frozen=True)
class AgentSettings:
    """Workspace setting settings["agent"] = {"max_steps", "context_tokens", "reply_tokens", "model"}
    (ocma_agent.settings checks a value when it is set; this reading stays lenient with older values)."""

    max_steps: int = DEFAULT_MAX_STEPS
    context_tokens: int = DEFAULT_CONTEXT_TOKENS
    reply_tokens: int = DEFAULT_REPLY_TOKENS
    temperature: float = 0.3
    model: str | None = None

    @classmethod
    def from_settings(cls, settings: dict[str, Any]) -> AgentSettings:
        """Read settings["agent"], keeping defaults for missing or invalid values."""
        raw = settings.get("agent") or {}

        def number(key: str, default: int, low: int, high: int) -> int:
            try:
                return min(high, max(low, int(raw.get(key, default))))
            except (TypeError, ValueError):
                return default

        return cls(
            max_steps=number("max_steps", DEFAULT_MAX_STEPS, 1, 50),
            context_tokens=number("context_tokens", DEFAULT_CONTEXT_TOKENS, 1_000, 1_000_000),
            reply_tokens=number("reply_tokens", DEFAULT_REPLY_TOKENS, 100, 32_000),
            model=str(raw["model"]) if raw.get("model") else None,
        )


def _noop(event: AgentEvent) -> None:
    return None


@dataclass
class _Prepared:
    thread: store.Thread
    view: prompt.WorkspaceView
    context: store.Context
    settings: AgentSettings


def _prepare(ocma: Ocma, workspace_id: str, thread_key: str, now: datetime) -> _Prepared:
    """Everything a turn reads before the first model call, in one transaction."""
    from sqlalchemy.exc import IntegrityError

    for attempt in range(2):
        try:
            with ocma.session() as session:
                view = prompt.read_workspace(session, workspace_id, now)
                thread, rows = store.thread_in(session, workspace_id, thread_key)
            break
        except IntegrityError:  # another request created the same new thread first
            if attempt:
                raise
    settings = AgentSettings.from_settings(view.settings)
    context = store.load_context(ocma, thread, settings.context_tokens, rows)
    return _Prepared(thread, view, context, settings)


async def run_turn(
    ocma: Ocma,
    workspace_id: str,
    thread_key: str,
    text: str,
    *,
    caller: Caller,
    on_event: EventSink | None = None,
    approver: Approver | None = None,
    toolset: Toolset | None = None,
    stream: bool | None = None,
    now: Callable[[], datetime] = utcnow,
) -> TurnResult:
    """Answer one user message in thread `thread_key`; events stream to `on_event` as they happen.

    `approver` (optional) is asked about each post held for approval; answering True approves it (use it
    only where a person answers, e.g. the CLI prompt). Without a model or key, the result carries an error
    saying what to set, and nothing is stored.
    """
    from ocma_agent.tools import default_toolset

    emit = on_event or _noop
    result = TurnResult(thread_key=thread_key)
    if not text.strip():
        result.error = {"title": "Empty message", "message": "Say what you need.", "fix": None, "status": 422}
        result.stopped = "error"
        emit(AgentEvent("error", result.error))
        return result
    prepared = await asyncio.to_thread(_prepare, ocma, workspace_id, thread_key, now())
    turn = _Turn(ocma, workspace_id, prepared, toolset or default_toolset(), result, emit, approver)
    turn.streaming = on_event is not None if stream is None else stream
    turn.start(text, caller, now)
    for step in range(1, prepared.settings.max_steps + 1):
        calls = await turn.model_step(step)
        if calls is None:  # the model call failed (recorded) or the model answered: the turn is over
            break
        await turn.run_tools(calls)
    else:
        turn.step_limit()
    if result.stopped != "error":
        await turn.record()
        emit(AgentEvent("done", {"text": result.text, "steps": result.steps, "stopped": result.stopped}))
    return result


@dataclass
class _Turn:
    """The state of one turn between its steps: the conversation sent to the model and the rows to store."""

    ocma: Ocma
    workspace_id: str
    prepared: _Prepared
    tools: Toolset
    result: TurnResult
    emit: EventSink
    approver: Approver | None
    streaming: bool = False
    messages: list[dict[str, Any]] = field(default_factory=list)
    rows: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    ctx: ToolContext | None = None
    stored_any: bool = False
    writing: asyncio.Task[None] | None = None  # rows being recorded while the model works on the next step

    def start(self, text: str, caller: Caller, now: Callable[[], datetime]) -> None:
        """The messages the model sees first, and the tools' context."""
        prepared = self.prepared
        system = prompt.system_prompt(prepared.view, caller, now(), prepared.context.summary)
        self.messages = [
            {"role": "system", "content": system},
            *prepared.context.messages,
            {"role": "user", "content": text},
        ]
        self.ctx = ToolContext(
            ocma=self.ocma,
            workspace_id=self.workspace_id,
            caller=caller,
            thread_key=self.result.thread_key,
            timezone=prepared.view.timezone,
            now=now,
            tainted=prepared.context.tainted,
            outside_sources=list(prepared.context.sources),
        )
        self.rows = [("user", {"text": text, "caller": caller.label()})]

    async def record(self) -> None:
        """Store the rows not stored yet (after any write still in flight)."""
        if self.writing is not None:
            await self.writing
            self.writing = None
        await asyncio.to_thread(store.append, self.ocma, self.prepared.thread, self.rows)

    async def model_step(self, step: int) -> list[dict[str, Any]] | None:
        """Ask the model; the tool calls it asks for, or None when the turn is over (answered or failed)."""
        from ocma_core.app.content import complete_text

        settings = self.prepared.settings
        try:
            answer = await complete_text(
                self.ocma, self.workspace_id, self.messages, model=settings.model, tools=self.tools.schemas(),
                max_tokens=settings.reply_tokens, temperature=settings.temperature,
                on_delta=self._delta if self.streaming else None, use_cache=False,
            )  # fmt: skip
        except OcmaError as exc:
            await self._failed(exc)
            return None
        result = self.result
        result.steps = step
        result.prompt_tokens += answer.prompt_tokens
        result.completion_tokens += answer.completion_tokens
        calls: list[dict[str, Any]] = answer.tool_calls
        self.rows.append(("assistant", {"text": answer.text, "tool_calls": calls, "model": answer.model}))
        self.messages.append(_assistant_message(answer.text, calls))
        if not calls:
            result.text = answer.text
            if not self.streaming:
                self.emit(AgentEvent("text", {"delta": answer.text}))
            _check_claims(result, self.rows, self.emit)
            return None
        if answer.text and not self.streaming:
            self.emit(AgentEvent("text", {"delta": answer.text}))
        return calls

    def _delta(self, piece: str) -> None:
        self.emit(AgentEvent("text", {"delta": piece}))

    async def _failed(self, exc: OcmaError) -> None:
        self.result.error, self.result.stopped = error_data(exc), "error"
        self.emit(AgentEvent("error", self.result.error))
        if self.stored_any or len(self.rows) > 1:
            self.rows.append(("note", {"text": f"The model call failed: {exc}"}))
            await self.record()

    async def run_tools(self, calls: list[dict[str, Any]]) -> None:
        """Run the tool calls in order; what changed something is stored while the model takes the next step."""
        changed = False
        for call in calls:
            changed = await self._run_tool(call) or changed
        if changed:
            if self.writing is not None:
                await self.writing
            rows, self.rows, self.stored_any = self.rows, [], True
            self.writing = asyncio.create_task(
                asyncio.to_thread(store.append, self.ocma, self.prepared.thread, rows)
            )

    async def _run_tool(self, call: dict[str, Any]) -> bool:
        """One tool call, its events and records; True when it changed something."""
        assert self.ctx is not None
        self.emit(
            AgentEvent("tool_call", {"id": call["id"], "name": call["name"], "arguments": call["arguments"]})
        )
        outcome = await self.tools.call(
            self.ctx, call["id"], call["name"], call["arguments"],
            settings=self.prepared.view.settings, approver=self.approver,
        )  # fmt: skip
        summary = outcome.summary()
        self.emit(
            AgentEvent(
                "tool_result",
                {
                    "id": call["id"],
                    "name": call["name"],
                    "ok": outcome.ok,
                    "summary": summary,
                    "error": outcome.error,
                },
            )
        )
        for approval in outcome.approvals:
            self.emit(AgentEvent("approval", approval))
            self.result.approvals.append(approval)
        status = outcome.result.get("status") if isinstance(outcome.result, dict) else None
        self.result.tool_calls.append(
            {
                "name": outcome.name, "arguments": outcome.arguments, "ok": outcome.ok, "summary": summary,
                **({"status": str(status)} if status else {}),
            }
        )  # fmt: skip
        self.rows.append(("tool", outcome.record()))
        self.messages.append({"role": "tool", "tool_call_id": call["id"], "content": outcome.content()})
        return outcome.ok and outcome.effect != "read"

    def step_limit(self) -> None:
        """The model used every step without answering: say so (and how to go on)."""
        result = self.result
        result.stopped = "step_limit"
        result.text = (
            f"I stopped after {self.prepared.settings.max_steps} steps without finishing. Tell me how to go on, "
            "or raise the limit (workspace setting agent.max_steps)."
        )
        self.rows.append(("assistant", {"text": result.text, "tool_calls": [], "model": "ocma_agent"}))
        self.emit(AgentEvent("text", {"delta": result.text}))


def _assistant_message(text: str, calls: list[dict[str, Any]]) -> dict[str, Any]:
    """The model's answer as the next request's assistant message."""
    message: dict[str, Any] = {"role": "assistant", "content": text or None}
    if calls:
        message["tool_calls"] = [
            {"id": c["id"], "type": "function", "function": {"name": c["name"], "arguments": c["arguments"]}}
            for c in calls
        ]
    return message


def _check_claims(
    result: TurnResult, rows: list[tuple[str, dict[str, Any]]], emit: Callable[[AgentEvent], None]
) -> None:
    """A reply that claims an action no tool reported gets a correction, shown and stored with it."""
    from ocma_agent.claims import correction, unbacked_claims

    claims = unbacked_claims(result.text, result.tool_calls)
    if not claims:
        return
    note = correction(claims, result.tool_calls)
    result.text += note
    result.unbacked_claims = claims
    emit(AgentEvent("text", {"delta": note}))
    rows.append(("note", {"text": note.strip(), "unbacked_claims": claims}))


def run_turn_sync(*args: Any, **kwargs: Any) -> TurnResult:
    """`run_turn` for synchronous callers (starts its own event loop)."""
    return asyncio.run(run_turn(*args, **kwargs))


def dumps(result: TurnResult) -> str:
    """The turn result as JSON."""
    return json.dumps(result.as_dict(), ensure_ascii=False, default=str)
