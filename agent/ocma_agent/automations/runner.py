"""The automations round: follow each workspace's event log per rule and draft one post per cooldown window.

Per rule and workspace, a leased cursor (`automation:<rule id>`) marks the last event the rule has dealt
with, so a round resumes where the last one stopped, and two workers never run one rule at once. Events past
the cursor that match the rule's kind are *pending*:

- outside the cooldown (a claim `...:cooldown` that lives `cooldown_s`), every pending event is summarised
  in one draft (a burst of 500 sales is one draft saying 500), and the cursor moves past them;
- inside it they stay pending, and the first round after the cooldown drafts them all at once;
- while the rule's last draft still waits for approval they stay pending too: one draft per rule waits
  for a person at a time, and the next one (after it is approved or declined) covers everything since.

The draft is created as `pending_approval` (a `post.approval_requested` event), whatever the workspace's
policy or anyone's role: an automation never publishes. A claim on the first pending event's sequence id
(`...:from:<seq>`) makes the draft once even if the process dies before the cursor moves (a draft is lost
rather than doubled if it dies between that claim and the draft). A failed attempt (no model, a platform
refusing the text) is retried after RETRY_S, not every round, and reported as `automation.failed` once a day
per rule and reason.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import socket
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from ocma_agent.automations.compose import Facts, compose
from ocma_agent.automations.rules import Rule, known_kinds, rules_of
from ocma_core.app import Ocma, accounts, calendar, events, posts, workspaces
from ocma_core.app.posts import PostInput
from ocma_core.errors import OcmaError

log = logging.getLogger(__name__)
RETRY_S = 300.0  # after a failed attempt, the next one waits this long
NOTICE_EVERY_S = 24 * 3600.0  # one automation.failed per rule and reason in this time
MAX_AGE = timedelta(days=1)  # older events (history before the rule, a long outage) are skipped
MAX_SUMMARISED = 10_000  # events one draft covers at most; the rest go in the next window
CLAIM_KEEP_S = 90 * 24 * 3600.0
BATCH = 500


@dataclass
class Outcome:
    """What one rule did in a round."""

    rule_id: str
    workspace_id: str
    status: str  # idle, waiting (cooldown), drafted, failed, busy (another worker), skipped
    events: int = 0
    post_id: str | None = None
    reason: str = ""


def run_round(ocma: Ocma) -> list[Outcome]:
    """One round over every workspace's enabled rules (the `automations` background job)."""
    done: list[Outcome] = []
    for workspace in workspaces.list_workspaces(ocma):
        for rule in rules_of(workspace.settings):
            if not rule.enabled:
                continue
            try:
                done.append(run_rule(ocma, workspace.id, rule))
            except Exception:  # one broken rule never stops the others
                log.exception("automation %s of workspace %s failed", rule.id, workspace.id)
    return done


def _key(workspace_id: str, rule: Rule, what: str) -> str:
    return f"automation:{workspace_id}:{rule.id}:{what}"


def run_rule(ocma: Ocma, workspace_id: str, rule: Rule) -> Outcome:
    """Deal with the rule's pending events in one workspace: draft them, wait for the cooldown, or nothing."""
    consumer = f"automation:{rule.id}"
    holder = f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}:{os.urandom(4).hex()}"
    cursor = events.claim_cursor(ocma, consumer, workspace_id, holder)
    if cursor is None:
        return Outcome(rule.id, workspace_id, "busy")
    try:
        top = events.last_seq(ocma, workspace_id)
        pending, through = _pending(ocma, workspace_id, rule, cursor, top)
        if not pending:
            if through > cursor:
                events.advance_cursor(ocma, consumer, workspace_id, holder, through)
            return Outcome(rule.id, workspace_id, "idle")
        outcome = _draft_window(ocma, workspace_id, rule, pending)
        if outcome.status in ("drafted", "skipped"):
            events.advance_cursor(ocma, consumer, workspace_id, holder, through)
        return outcome
    finally:
        events.release_cursor(ocma, consumer, workspace_id, holder)


def _pending(
    ocma: Ocma, workspace_id: str, rule: Rule, cursor: int, top: int
) -> tuple[list[events.Event], int]:
    """The rule's events in (cursor, top] younger than MAX_AGE, and the sequence id they run through."""
    oldest = datetime.now(UTC) - MAX_AGE - timedelta(seconds=rule.cooldown_s)
    found: list[events.Event] = []
    after = cursor
    while len(found) < MAX_SUMMARISED:
        batch = [e for e in events.read(ocma, workspace_id, after, [rule.on], BATCH) if (e.seq or 0) <= top]
        if not batch:
            return found, top
        found += [e for e in batch if e.at >= oldest and rule.matches(e.payload)]
        after = batch[-1].seq or after
    return found[:MAX_SUMMARISED], found[MAX_SUMMARISED - 1].seq or after


def _draft_window(ocma: Ocma, workspace_id: str, rule: Rule, pending: list[events.Event]) -> Outcome:
    """Draft the pending events if the cooldown allows, the rule's last draft was decided, and no earlier
    attempt drafted them."""
    undecided = _undecided_draft(ocma, workspace_id, rule)
    if undecided is not None:  # one draft per rule waits for a person at a time; the events wait with it
        why = f"draft {undecided} still waits for approval"
        return Outcome(rule.id, workspace_id, "waiting", len(pending), undecided, why)
    cooldown = _key(workspace_id, rule, "cooldown")
    if rule.cooldown_s and not workspaces.claim_once(ocma, cooldown, rule.cooldown_s):
        return Outcome(rule.id, workspace_id, "waiting", len(pending))
    attempt = _key(workspace_id, rule, "attempt")
    if not workspaces.claim_once(ocma, attempt, RETRY_S):  # the last attempt failed recently
        if rule.cooldown_s:
            workspaces.release_once(ocma, cooldown)
        return Outcome(rule.id, workspace_id, "waiting", len(pending), reason="retrying after a failure")
    first = pending[0].seq
    once = _key(workspace_id, rule, f"from:{first}")
    if not workspaces.claim_once(ocma, once, CLAIM_KEEP_S):  # drafted before the cursor could move
        workspaces.release_once(ocma, attempt)
        return Outcome(rule.id, workspace_id, "skipped", len(pending))
    facts = _facts(rule, pending)
    try:
        post_id = _create_draft(ocma, workspace_id, rule, facts)
    except NotHeld as exc:  # the draft exists: a person fixes it, no second draft is made
        workspaces.release_once(ocma, attempt)
        _failed(ocma, workspace_id, rule, facts, exc, post_id=exc.post_id)
        return Outcome(rule.id, workspace_id, "skipped", len(pending), exc.post_id, exc.message)
    except Exception as exc:
        workspaces.release_once(ocma, once)
        if rule.cooldown_s:
            workspaces.release_once(ocma, cooldown)  # the retry waits RETRY_S, not the whole cooldown
        return _failed(ocma, workspace_id, rule, facts, exc)
    workspaces.release_once(ocma, attempt)
    _emit(ocma, workspace_id, "automation.drafted", _payload(rule, facts, pending) | {"post_id": post_id})
    return Outcome(rule.id, workspace_id, "drafted", len(pending), post_id)


def _undecided_draft(ocma: Ocma, workspace_id: str, rule: Rule) -> str | None:
    """The id of the rule's draft that still waits for approval, if any."""
    held = posts.list_posts(ocma, workspace_id, status="pending_approval", limit=1000)
    return next((p.id for p in held if p.created_by == _author(rule)), None)


def _author(rule: Rule) -> str:
    return f"automation:{rule.id}"


class NotHeld(OcmaError):
    """The draft was saved but could not be held for approval (a platform refused it)."""

    def __init__(self, post_id: str, cause: OcmaError) -> None:
        super().__init__(
            f"Draft {post_id} was saved but not submitted for approval: {cause.message}",
            fix=f"Fix the draft and submit it (`ocma posts show {post_id}`), or change the rule's instruction.",
        )
        self.post_id = post_id


def _facts(rule: Rule, pending: list[events.Event]) -> Facts:
    kind = known_kinds().get(rule.on)
    # The documented meaning without its notes on payload fields ("(amount: ...)"): none of them is sent.
    meaning = kind.when.split(" (")[0] if kind is not None else rule.on
    return Facts(rule.on, meaning, len(pending), pending[0].at, pending[-1].at)


def _payload(rule: Rule, facts: Facts, pending: list[events.Event]) -> dict[str, Any]:
    return {
        "rule_id": rule.id,
        "on": rule.on,
        "events": facts.count,
        "first_seq": pending[0].seq,
        "last_seq": pending[-1].seq,
    }


def _create_draft(ocma: Ocma, workspace_id: str, rule: Rule, facts: Facts) -> str:
    """Write the text with the workspace's model, save it and hold it for approval; the post's id."""
    mine = {a.id: a for a in accounts.list_accounts(ocma, workspace_id)}
    missing = [a for a in rule.accounts if a not in mine]
    if missing:
        raise OcmaError(
            f"The automation names account(s) not in this workspace: {', '.join(missing)}.",
            fix=f"Change the rule's accounts (`ocma accounts list`, then `ocma automations add --id {rule.id} ...`).",
        )
    names = [mine[a].platform for a in rule.accounts]
    text, _usage = asyncio.run(compose(ocma, workspace_id, facts, rule.instruction, names))
    data = PostInput(body=text, account_ids=rule.accounts, action="draft")
    post = calendar.plan_draft(ocma, workspace_id, data, None, created_by=_author(rule))
    # Held for a person's approval whoever set the rule up: publish_existing with require_approval never
    # publishes, it records post.approval_requested.
    try:
        held = calendar.publish_existing(ocma, workspace_id, post.id, require_approval=True)
    except OcmaError as exc:
        raise NotHeld(post.id, exc) from exc
    return held.id


def _failed(
    ocma: Ocma, workspace_id: str, rule: Rule, facts: Facts, exc: Exception, post_id: str | None = None
) -> Outcome:
    reason = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    if not isinstance(exc, OcmaError):
        log.exception("automation %s of workspace %s failed", rule.id, workspace_id, exc_info=exc)
    payload: dict[str, Any] = {
        "rule_id": rule.id,
        "on": rule.on,
        "events": facts.count,
        "reason": reason[:500],
    }
    if post_id:
        payload["post_id"] = post_id
    fix = getattr(exc, "fix", None)
    if fix:
        payload["fix"] = str(fix)[:500]
    # Retried every RETRY_S: the same failure is reported (and announced in Slack) once a day, not each time.
    digest = hashlib.sha256(reason.encode()).hexdigest()[:16]
    if post_id or workspaces.claim_once(ocma, _key(workspace_id, rule, f"failed:{digest}"), NOTICE_EVERY_S):
        _emit(ocma, workspace_id, "automation.failed", payload)
    return Outcome(rule.id, workspace_id, "failed", facts.count, reason=reason)


def _emit(ocma: Ocma, workspace_id: str, kind: str, payload: dict[str, Any]) -> None:
    with ocma.session() as session:
        event = events.record(session, events.Event(kind, workspace_id, payload))
    events.dispatch(event, ocma)
