"""What one publish costs the database, counted (not timed): statements, transactions and round trips.

On PostgreSQL a round trip is a statement, a BEGIN (psycopg sends it on its own), a COMMIT or a ping; the claim is
one autocommit statement and so is the finish (target, audit row, post status and event, all or nothing).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event
from sqlmodel import select

from ocma_core.context import Ocma
from ocma_core.db.models import Notification, Post, PostStatus, PublishAttempt, Target, TargetStatus
from ocma_core.engine.publisher import process_target
from ocma_core.engine.runtime import Runtime
from ocma_core.services import posts
from ocma_core.services.post_input import PostInput


@contextmanager
def counted(ocma: Ocma) -> Iterator[Counter[str]]:
    """Count statements, BEGINs and COMMITs sent and pings made on the process's engine meanwhile."""
    engine, counts = ocma.engine, Counter[str]()

    def autocommit(conn: Any) -> bool:
        return conn.get_execution_options().get("isolation_level") == "AUTOCOMMIT"

    def statement(*_: Any) -> None:
        counts["statements"] += 1

    def begin(conn: Any) -> None:
        counts["begin" if not autocommit(conn) else "autocommit"] += 1

    def commit(conn: Any) -> None:
        counts["commit" if not autocommit(conn) else "autocommit_commit"] += 1

    ping = engine.dialect.do_ping

    def counted_ping(dbapi: Any) -> bool:
        counts["pings"] += 1
        return bool(ping(dbapi))

    listeners = [("before_cursor_execute", statement), ("begin", begin), ("commit", commit)]
    for name, fn in listeners:
        event.listen(engine, name, fn)
    engine.dialect.do_ping = counted_ping  # type: ignore[method-assign]
    try:
        yield counts
    finally:
        for name, fn in listeners:
            event.remove(engine, name, fn)
        engine.dialect.do_ping = ping  # type: ignore[method-assign]


def _publish_one(ocma: Ocma, workspace_id: str, account_id: str, text: str) -> tuple[str, Counter[str]]:
    data = PostInput(body=text, account_ids=[account_id], action="publish_now")
    post = posts.create_post(ocma, workspace_id, data)
    target_id = posts.targets_of(ocma, post.id)[0].id
    runtime = Runtime(worker_id="counting-worker")
    with counted(ocma) as counts:
        outcome = asyncio.run(process_target(ocma, runtime, target_id))
    assert outcome == "published"
    return post.id, counts


def test_one_publish_costs_few_statements_and_round_trips(
    ocma: Ocma, workspace_id: str, account_id: str, fake: Any
) -> None:
    _publish_one(ocma, workspace_id, account_id, "warm-up")  # imports, first connections
    post_id, counts = _publish_one(ocma, workspace_id, account_id, "Counted")
    postgres = ocma.engine.dialect.name == "postgresql"
    # PostgreSQL: claim 1 statement, finish 1 (its event takes its sequence id inside it). Elsewhere: claim 3,
    # finish 6 (target, audit row, post's targets, post, the event's sequence id, event), each a transaction.
    assert counts["statements"] <= (2 if postgres else 9), counts
    transactions = 0 if postgres else 2
    assert counts["commit"] <= transactions and counts["begin"] <= transactions, counts
    assert counts["pings"] == 0, counts
    if postgres:
        trips = counts["statements"] + counts["begin"] + counts["commit"] + counts["pings"]
        assert trips <= 2, counts
    with ocma.session() as s:
        target = s.exec(select(Target).where(Target.post_id == post_id)).one()
        post = s.get(Post, post_id)
        attempts = list(s.exec(select(PublishAttempt).where(PublishAttempt.target_id == target.id)))
        kinds = [n.kind for n in s.exec(select(Notification))]
    assert target.status is TargetStatus.PUBLISHED and target.attempts == 1 and target.claimed_by is None
    assert post is not None and post.status is PostStatus.PUBLISHED
    assert [a.outcome for a in attempts] == ["ok"]  # the audit row went in with the finish
    assert kinds.count("post.published") == 2
    assert fake.published_texts() == ["warm-up", "Counted"]
