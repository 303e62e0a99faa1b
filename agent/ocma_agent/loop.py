"""The agent loop: one user message in, model and tool steps until the model answers (or the step limit).

Model calls go through `ocma_core.ai.service.complete_text` (litellm via the ocma-litellm provider), so the
workspace's model, keys, fallbacks, budgets and usage records apply exactly as everywhere else.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ocma_agent import prompt, store
from ocma_agent.context import Approver, Caller, ToolContext
from ocma_agent.events import AgentEvent, EventSink, TurnResult, error_data
from ocma_agent.settings import DEFAULT_CONTEXT_TOKENS, DEFAULT_MAX_STEPS, DEFAULT_REPLY_TOKENS
from ocma_agent.toolset import Toolset
from ocma_core.context import Ocma
from ocma_core.db.types import utcnow
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
    from ocma_core.ai.service import complete_text

    emit = on_event or _noop
    streaming = on_event is not None if stream is None else stream
    result = TurnResult(thread_key=thread_key)
    if not text.strip():
        result.error = {"title": "Empty message", "message": "Say what you need.", "fix": None, "status": 422}
        result.stopped = "error"
        emit(AgentEvent("error", result.error))
        return result
    tools = toolset or default_toolset()
    prepared = await asyncio.to_thread(_prepare, ocma, workspace_id, thread_key, now())
    system = prompt.system_prompt(prepared.view, caller, now(), prepared.context.summary)
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": system},
        *prepared.context.messages,
        {"role": "user", "content": text},
    ]
    ctx = ToolContext(
        ocma=ocma,
        workspace_id=workspace_id,
        caller=caller,
        thread_key=thread_key,
        timezone=prepared.view.timezone,
        now=now,
        tainted=prepared.context.tainted,
        outside_sources=list(prepared.context.sources),
    )
    rows: list[tuple[str, dict[str, Any]]] = [("user", {"text": text, "caller": caller.label()})]
    stored_any = False
    writing: asyncio.Task[None] | None = None  # rows being recorded while the model works on the next step

    async def record(batch: list[tuple[str, dict[str, Any]]]) -> None:
        nonlocal writing
        if writing is not None:
            await writing
            writing = None
        await asyncio.to_thread(store.append, ocma, prepared.thread, batch)

    def on_delta(piece: str) -> None:
        emit(AgentEvent("text", {"delta": piece}))

    for step in range(1, prepared.settings.max_steps + 1):
        try:
            answer = await complete_text(
                ocma,
                workspace_id,
                messages,
                model=prepared.settings.model,
                tools=tools.schemas(),
                max_tokens=prepared.settings.reply_tokens,
                temperature=prepared.settings.temperature,
                on_delta=on_delta if streaming else None,
                use_cache=False,
            )
        except OcmaError as exc:
            result.error, result.stopped = error_data(exc), "error"
            emit(AgentEvent("error", result.error))
            if stored_any or len(rows) > 1:
                rows.append(("note", {"text": f"The model call failed: {exc}"}))
                await record(rows)
            return result
        result.steps = step
        result.prompt_tokens += answer.prompt_tokens
        result.completion_tokens += answer.completion_tokens
        calls = answer.tool_calls
        rows.append(("assistant", {"text": answer.text, "tool_calls": calls, "model": answer.model}))
        assistant: dict[str, Any] = {"role": "assistant", "content": answer.text or None}
        if calls:
            assistant["tool_calls"] = [
                {
                    "id": c["id"],
                    "type": "function",
                    "function": {"name": c["name"], "arguments": c["arguments"]},
                }
                for c in calls
            ]
        messages.append(assistant)
        if not calls:
            result.text = answer.text
            if not streaming:
                emit(AgentEvent("text", {"delta": answer.text}))
            _check_claims(result, rows, emit)
            break
        if answer.text and not streaming:
            emit(AgentEvent("text", {"delta": answer.text}))
        changed = False
        for call in calls:
            emit(
                AgentEvent(
                    "tool_call", {"id": call["id"], "name": call["name"], "arguments": call["arguments"]}
                )
            )
            outcome = await tools.call(
                ctx,
                call["id"],
                call["name"],
                call["arguments"],
                settings=prepared.view.settings,
                approver=approver,
            )
            emit(
                AgentEvent(
                    "tool_result",
                    {
                        "id": call["id"],
                        "name": call["name"],
                        "ok": outcome.ok,
                        "summary": outcome.summary(),
                        "error": outcome.error,
                    },
                )
            )
            for approval in outcome.approvals:
                emit(AgentEvent("approval", approval))
                result.approvals.append(approval)
            status = outcome.result.get("status") if isinstance(outcome.result, dict) else None
            result.tool_calls.append(
                {
                    "name": outcome.name,
                    "arguments": outcome.arguments,
                    "ok": outcome.ok,
                    "summary": outcome.summary(),
                    **({"status": str(status)} if status else {}),
                }
            )
            rows.append(("tool", outcome.record()))
            messages.append({"role": "tool", "tool_call_id": call["id"], "content": outcome.content()})
            changed = changed or (outcome.ok and outcome.effect != "read")
        if changed:  # calls that changed something are recorded now, while the model takes the next step
            if writing is not None:
                await writing
            writing = asyncio.create_task(asyncio.to_thread(store.append, ocma, prepared.thread, rows))
            rows, stored_any = [], True
    else:
        result.stopped = "step_limit"
        result.text = (
            f"I stopped after {prepared.settings.max_steps} steps without finishing. Tell me how to go on, "
            "or raise the limit (workspace setting agent.max_steps)."
        )
        rows.append(("assistant", {"text": result.text, "tool_calls": [], "model": "ocma_agent"}))
        emit(AgentEvent("text", {"delta": result.text}))
    await record(rows)
    emit(AgentEvent("done", {"text": result.text, "steps": result.steps, "stopped": result.stopped}))
    return result


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
