"""Conversations per thread key, every message and tool call recorded, trimmed to fit the model's context.

Rows (ConversationMessage.content): "user" {"text"}; "assistant" {"text", "tool_calls"}; "tool" (see
ToolOutcome.record); "note" {"text"} (e.g. an approval given outside the chat). Each carries "seq", the
order within its conversation. What no longer fits the context budget is replaced by an extractive summary
(user requests and tool actions, never outside text) kept in Conversation.summary.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import text, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from ocma_core.app import Ocma
from ocma_core.app.models import Conversation, ConversationMessage, utcnow

MAX_ROWS = 400  # never load more than this many recent rows
SUMMARY_LINES = 40


@dataclass
class Thread:
    """A conversation and the sequence number its next message gets."""

    id: str
    workspace_id: str
    thread_key: str
    summary: str
    next_seq: int


@dataclass
class Context:
    """The history the model sees this turn, and whether outside text is part of it."""

    messages: list[dict[str, Any]]
    summary: str
    tainted: bool
    sources: list[str]


def tokens(text: str) -> int:
    """A quick token estimate (about four characters per token) for trimming decisions."""
    return len(text) // 4 + 4


def thread_in(
    session: Session, workspace_id: str, thread_key: str
) -> tuple[Thread, list[ConversationMessage]]:
    """The conversation for `thread_key` and its recent rows (oldest first), created on first use.

    Creating it can race with another request for the same new thread: the caller retries on IntegrityError.
    """
    found = session.exec(
        select(Conversation).where(
            Conversation.workspace_id == workspace_id, Conversation.thread_key == thread_key
        )
    ).first()
    if found is None:
        conversation = Conversation(workspace_id=workspace_id, thread_key=thread_key[:255])
        session.add(conversation)
        session.flush()
        return Thread(conversation.id, workspace_id, thread_key, "", 0), []
    rows = list(
        session.exec(
            select(ConversationMessage)
            .where(ConversationMessage.conversation_id == found.id)
            .order_by(col(ConversationMessage.created_at).desc())
            .limit(MAX_ROWS)
        )
    )
    rows.sort(key=lambda r: (int(r.content.get("seq", 0)), r.created_at))
    seq = int(rows[-1].content.get("seq", 0)) + 1 if rows else 0
    return Thread(found.id, workspace_id, thread_key, found.summary, seq), rows


def open_thread(ocma: Ocma, workspace_id: str, thread_key: str) -> Thread:
    """The conversation for `thread_key`, created on first use (safe when two requests race)."""
    return open_thread_with_rows(ocma, workspace_id, thread_key)[0]


def open_thread_with_rows(
    ocma: Ocma, workspace_id: str, thread_key: str
) -> tuple[Thread, list[ConversationMessage]]:
    """`thread_in` in its own transaction, retried once when a concurrent request created the thread first."""
    for attempt in range(2):
        try:
            with ocma.session() as session:
                return thread_in(session, workspace_id, thread_key)
        except IntegrityError:
            if attempt:
                raise
    raise AssertionError("unreachable")


def append(ocma: Ocma, thread: Thread, rows: list[tuple[str, dict[str, Any]]]) -> None:
    """Store messages in order, in one transaction."""
    if not rows:
        return
    base = utcnow()
    with ocma.session() as session:
        if session.get_bind().dialect.name == "postgresql":
            # The conversation log may lose its last milliseconds in a server crash, never its consistency;
            # not waiting for the WAL flush keeps a turn's own time low (posts are still committed durably).
            session.execute(text("SET LOCAL synchronous_commit TO OFF"))
        for offset, (role, content) in enumerate(rows):
            session.add(
                ConversationMessage(
                    conversation_id=thread.id,
                    role=role,
                    content={**content, "seq": thread.next_seq},
                    created_at=base + timedelta(microseconds=offset),
                )
            )
            thread.next_seq += 1
        session.execute(update(Conversation).where(col(Conversation.id) == thread.id).values(updated_at=base))


def load_rows(ocma: Ocma, thread: Thread) -> list[ConversationMessage]:
    """The most recent rows, oldest first."""
    with ocma.session() as session:
        rows = list(
            session.exec(
                select(ConversationMessage)
                .where(ConversationMessage.conversation_id == thread.id)
                .order_by(col(ConversationMessage.created_at).desc())
                .limit(MAX_ROWS)
            )
        )
    rows.sort(key=lambda r: (int(r.content.get("seq", 0)), r.created_at))
    return rows


def _as_messages(row: ConversationMessage) -> list[dict[str, Any]]:
    content = row.content
    if row.role == "user":
        return [{"role": "user", "content": content.get("text", "")}]
    if row.role == "note":
        return [{"role": "user", "content": f"(Note from OCMA, not from the user) {content.get('text', '')}"}]
    if row.role == "assistant":
        message: dict[str, Any] = {"role": "assistant", "content": content.get("text") or None}
        calls = content.get("tool_calls") or []
        if calls:
            message["tool_calls"] = [
                {
                    "id": c["id"],
                    "type": "function",
                    "function": {"name": c["name"], "arguments": c.get("arguments") or "{}"},
                }
                for c in calls
            ]
        return [message]
    if row.role == "tool":
        return [
            {
                "role": "tool",
                "tool_call_id": content.get("tool_call_id", ""),
                "content": content.get("content", ""),
            }
        ]
    return []


def _turns(rows: list[ConversationMessage]) -> list[list[ConversationMessage]]:
    """Rows grouped into turns, each starting at a user message (so tool calls keep their results)."""
    turns: list[list[ConversationMessage]] = []
    for row in rows:
        if row.role == "user" or not turns:
            turns.append([row])
        else:
            turns[-1].append(row)
    return turns


def _summary_lines(turn: list[ConversationMessage]) -> list[str]:
    lines = []
    for row in turn:
        content = row.content
        if row.role == "user":
            lines.append(f"- User asked: {str(content.get('text', ''))[:160]}")
        elif row.role == "tool":
            name = content.get("name", "?")
            if content.get("untrusted"):
                lines.append(f"- {name}: outside content read (not kept)")
                continue
            detail = "failed" if not content.get("ok") else "ok"
            try:
                result = json.loads(content.get("content") or "{}")
            except ValueError:
                result = {}
            if isinstance(result, dict):
                keys = ("post_id", "status", "at", "campaign_id", "step")
                facts = ", ".join(f"{k}={result[k]}" for k in keys if result.get(k))
                detail = f"{detail}{': ' + facts if facts else ''}"
            lines.append(f"- {name} {detail}")
        elif row.role == "note":
            lines.append(f"- Note: {str(content.get('text', ''))[:160]}")
    return lines


def load_context(
    ocma: Ocma, thread: Thread, budget_tokens: int, rows: list[ConversationMessage] | None = None
) -> Context:
    """Whole recent turns that fit `budget_tokens`; older ones folded into the stored summary."""
    rows = load_rows(ocma, thread) if rows is None else rows
    turns = _turns(rows)
    kept: list[list[ConversationMessage]] = []
    used = tokens(thread.summary)
    for turn in reversed(turns):
        size = sum(tokens(json.dumps(r.content, ensure_ascii=False)) for r in turn)
        if kept and used + size > budget_tokens:
            break
        kept.insert(0, turn)
        used += size
    dropped = turns[: len(turns) - len(kept)]
    summary = thread.summary
    if dropped:
        already = int(_summary_seq(summary))
        new_lines = [
            line
            for turn in dropped
            if int(turn[0].content.get("seq", 0)) >= already
            for line in _summary_lines(turn)
        ]
        if new_lines:
            last_seq = int(dropped[-1][-1].content.get("seq", 0)) + 1
            summary = _merge_summary(summary, new_lines, last_seq)
            _store_summary(ocma, thread, summary)
    messages = [m for turn in kept for row in turn for m in _as_messages(row)]
    sources = [
        str(row.content.get("name", "tool")) for turn in kept for row in turn if row.content.get("untrusted")
    ]
    return Context(messages, _summary_text(summary), bool(sources), sources)


def _summary_seq(summary: str) -> int:
    """The first seq not yet summarised (stored on the summary's first line)."""
    if summary.startswith("#seq="):
        head = summary.split("\n", 1)[0]
        try:
            return int(head[5:])
        except ValueError:
            return 0
    return 0


def _summary_text(summary: str) -> str:
    return summary.split("\n", 1)[1] if summary.startswith("#seq=") and "\n" in summary else summary


def _merge_summary(summary: str, lines: list[str], next_seq: int) -> str:
    old = [line for line in _summary_text(summary).splitlines() if line.strip()]
    merged = (old + lines)[-SUMMARY_LINES:]
    return f"#seq={next_seq}\n" + "\n".join(merged)


def _store_summary(ocma: Ocma, thread: Thread, summary: str) -> None:
    with ocma.session() as session:
        conversation = session.get(Conversation, thread.id)
        if conversation is not None:
            conversation.summary = summary
            session.add(conversation)
    thread.summary = summary


def recent_untrusted(ocma: Ocma, workspace_id: str, key_prefix: str, window: timedelta) -> list[str]:
    """Outside sources read in threads whose key starts with `key_prefix` within `window` (newest last)."""
    since = utcnow() - window
    with ocma.session() as session:
        rows = session.exec(
            select(ConversationMessage)
            .join(Conversation, col(Conversation.id) == col(ConversationMessage.conversation_id))
            .where(
                Conversation.workspace_id == workspace_id,
                col(Conversation.thread_key).startswith(key_prefix),
                col(ConversationMessage.created_at) >= since,
                ConversationMessage.role == "tool",
            )
            .order_by(col(ConversationMessage.created_at))
        )
        found: list[str] = []
        for row in rows:
            if row.content.get("untrusted"):
                arguments = row.content.get("arguments")
                url = arguments.get("url") if isinstance(arguments, dict) else None
                source = f"{row.content.get('name', 'tool')}: {url}" if url else str(row.content.get("name"))
                if source not in found:
                    found.append(source)
        return found


def history(ocma: Ocma, workspace_id: str, thread_key: str) -> list[dict[str, Any]]:
    """Every stored message of a thread (for the API and audits), oldest first."""
    with ocma.session() as session:
        conversation = session.exec(
            select(Conversation).where(
                Conversation.workspace_id == workspace_id, Conversation.thread_key == thread_key
            )
        ).first()
        if conversation is None:
            return []
        rows = list(
            session.exec(
                select(ConversationMessage).where(ConversationMessage.conversation_id == conversation.id)
            )
        )
    rows.sort(key=lambda r: (int(r.content.get("seq", 0)), r.created_at))
    return [{"role": r.role, "at": r.created_at.isoformat(), **r.content} for r in rows]
