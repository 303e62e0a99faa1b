"""HTTP routes: send a message to a thread (JSON, or SSE while it streams), read a thread, approve a post.

`POST /v1/agent/threads/{thread_id}/messages` with {"text": "..."} answers with the TurnResult as JSON; with
{"stream": true} or `Accept: text/event-stream` it streams Server-Sent Events, one per AgentEvent
(`event: text|tool_call|tool_result|approval|error|done`, `data:` JSON).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from ocma_agent.context import Caller
from ocma_agent.events import AgentEvent, TurnResult
from ocma_core.app import Ocma
from ocma_core.app.web import Caller as ApiCaller
from ocma_core.app.web import PostOut, errors, get_ocma, problem, require
from ocma_core.permissions import Action

router = APIRouter(prefix="/v1/agent", tags=["agent"])
THREAD = Path(pattern=r"^[A-Za-z0-9._:-]{1,200}$", description="Your id for the conversation.")


class MessageIn(BaseModel):
    """A message to the agent."""

    model_config = ConfigDict(strict=True, extra="forbid")

    text: str = Field(min_length=1, max_length=20_000)
    stream: bool = Field(default=False, description="Answer with Server-Sent Events as the turn runs.")


class ApprovalIn(BaseModel):
    """A person's decision on a held post."""

    model_config = ConfigDict(strict=True, extra="forbid")

    approve: bool = Field(description="true: schedule it as planned; false: cancel it.")


def _key(thread_id: str) -> str:
    return f"api:{thread_id}"


def _caller(caller: ApiCaller) -> Caller:
    return Caller("api", user=f"key {caller.key_id}", role=caller.role)


TURN_ANSWER = {
    200: {
        "description": "The turn's answer: JSON, or Server-Sent Events with stream=true (or Accept: text/event-stream).",
        "content": {
            "application/json": {"schema": {"type": "object"}},
            # One event per step: `event` names its kind, `data` is its JSON.
            "text/event-stream": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "event": {"type": "string"},
                        "data": {"type": "string", "contentMediaType": "application/json"},
                    },
                    "required": ["data"],
                }
            },
        },
    },
    **errors(402, 409, 429, 502, 503),  # a turn that failed before its first step answers with its error
}


@router.post("/threads/{thread_id}/messages", response_model=None, responses=TURN_ANSWER)
async def post_message(
    body: MessageIn,
    request: Request,
    thread_id: str = THREAD,
    caller: ApiCaller = Depends(require(Action.AGENT_CHAT)),
    ocma: Ocma = Depends(get_ocma),
) -> Any:
    """Send a message; the agent answers (drafting, scheduling and reporting with its tools)."""
    from ocma_agent.loop import run_turn

    agent_caller = _caller(caller)
    if body.stream or "text/event-stream" in request.headers.get("accept", ""):
        return StreamingResponse(
            _sse(ocma, caller.workspace_id, _key(thread_id), body.text, agent_caller),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
    result = await run_turn(ocma, caller.workspace_id, _key(thread_id), body.text, caller=agent_caller)
    if result.error is not None and result.steps == 0:
        return _problem(result)
    return result.as_dict()


def _problem(result: TurnResult) -> JSONResponse:
    error = result.error or {}
    fix = (error.get("fixes") or {}).get("api") or error.get("fix")
    extra = {"fix": fix} if fix else {}
    return problem(
        int(error.get("status") or 500), str(error.get("title")), str(error.get("message")), **extra
    )


async def _sse(ocma: Ocma, workspace_id: str, key: str, text: str, caller: Caller) -> AsyncIterator[bytes]:
    from ocma_agent.loop import run_turn

    queue: asyncio.Queue[AgentEvent | None] = asyncio.Queue()

    async def runner() -> None:
        try:
            await run_turn(ocma, workspace_id, key, text, caller=caller, on_event=queue.put_nowait)
        except Exception as exc:  # reported to the client, never a silently dropped stream
            queue.put_nowait(AgentEvent("error", {"title": "Agent error", "message": str(exc), "fix": None}))
        finally:
            queue.put_nowait(None)

    task = asyncio.create_task(runner())
    while True:
        event = await queue.get()
        if event is None:
            break
        payload = json.dumps(event.as_dict(), ensure_ascii=False, default=str)
        yield f"event: {event.kind}\ndata: {payload}\n\n".encode()
    await task


@router.get("/threads/{thread_id}/messages")
def get_messages(
    thread_id: str = THREAD,
    caller: ApiCaller = Depends(require(Action.AGENT_READ)),
    ocma: Ocma = Depends(get_ocma),
) -> dict[str, Any]:
    """Every message of the thread, tool calls and results included, oldest first."""
    from ocma_agent.store import history

    return {"thread": thread_id, "messages": history(ocma, caller.workspace_id, _key(thread_id))}


@router.post("/threads/{thread_id}/approvals/{post_id}", responses=errors(409))
def decide(
    body: ApprovalIn,
    post_id: str,
    thread_id: str = THREAD,
    caller: ApiCaller = Depends(require(Action.POSTS_APPROVE)),
    ocma: Ocma = Depends(get_ocma),
) -> PostOut:
    """Approve a post the agent held (it is scheduled as planned) or decline it (it is cancelled)."""
    from ocma_agent.approvals import decide as record
    from ocma_core.app import posts

    post = record(
        ocma, caller.workspace_id, _key(thread_id), post_id, approve=body.approve, by=f"key {caller.key_id}"
    )
    return PostOut.model_validate(posts.post_summary(post, posts.targets_of(ocma, post.id)))
