"""Reading stored snapshots into observations the analyzers share: one per published target, traceable.

Every observation names the snapshot it comes from (id and fetch time). Two ways to pick a target's snapshot:
- `latest`: its newest snapshot (reports: "as of the last collection");
- `matured`: the newest snapshot taken between 24 hours and 8 days after publishing, else the earliest one
  after that (a backfilled old post) — so posts are compared at a similar age (analyzers).
Posts with no snapshot at least 24 hours old are left out of `matured` (their metrics are still growing).
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, func, select
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col

from ocma_core.analytics.vocabulary import Mapped, map_metrics, vocabulary_of
from ocma_core.context import Ocma
from ocma_core.db.models import Account, AccountMetricSnapshot, Media, Post, PostMetricSnapshot, Target

MATURE_AFTER = timedelta(hours=24)
HORIZON = timedelta(days=8)
HASHTAG = re.compile(r"(?<![\w&])#(\w{1,100})", re.UNICODE)
LINK = re.compile(r"https?://\S+", re.IGNORECASE)


@dataclass
class PostObs:
    """One published target and the metrics of the snapshot chosen for it."""

    target_id: str
    post_id: str
    account_id: str
    platform: str
    published_at: datetime
    snapshot_id: str
    fetched_at: datetime
    metrics: Mapped
    interactions: float
    interactions_counted: tuple[str, ...]
    followers: float | None = None  # followers at publishing time (nearest account snapshot)
    followers_source: str | None = None  # the account snapshot it came from
    text: str = ""
    media_count: int = 0
    has_video: bool = False
    thread_parts: int = 1
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def age_hours(self) -> float:
        """How long after publishing the snapshot was taken."""
        return (self.fetched_at - self.published_at).total_seconds() / 3600

    @property
    def impressions(self) -> float | None:
        """Impressions, when the platform reported them."""
        value = self.metrics.values.get("impressions")
        return value if value is not None and value > 0 else None

    def exposure(self, kind: str) -> float | None:
        """The denominator of a rate: "impressions", "followers", or None for a per-post count."""
        if kind == "impressions":
            return self.impressions
        if kind == "followers":
            return self.followers if self.followers and self.followers > 0 else None
        return None

    def rate(self, kind: str) -> float | None:
        """Interactions per impression or per follower (None when that denominator is missing)."""
        exposure = self.exposure(kind)
        return None if exposure is None else self.interactions / exposure

    @property
    def hashtags(self) -> list[str]:
        """Hashtags in the text, lower-cased."""
        return sorted({tag.lower() for tag in HASHTAG.findall(self.text)})

    @property
    def has_link(self) -> bool:
        """True when the text carries a URL."""
        return bool(LINK.search(self.text))

    @property
    def format(self) -> str:
        """thread, video, image or text."""
        if self.thread_parts > 1:
            return "thread"
        if self.has_video:
            return "video"
        return "image" if self.media_count else "text"

    @property
    def topics(self) -> list[str]:
        """Topics the post was tagged with (`options.topics` / `options.topic`, set by people or campaigns)."""
        raw = self.options.get("topics", self.options.get("topic", []))
        items = [raw] if isinstance(raw, str) else raw if isinstance(raw, list) else []
        return sorted({str(t).strip().lower() for t in items if str(t).strip()})

    def trace(self) -> dict[str, Any]:
        """Where the numbers come from."""
        out: dict[str, Any] = {"snapshot_id": self.snapshot_id, "fetched_at": self.fetched_at.isoformat()}
        if self.followers_source:
            out["followers_snapshot_id"] = self.followers_source
        return out


@dataclass
class AccountSeries:
    """Account metric snapshots of one account, oldest first."""

    account_id: str
    platform: str
    times: list[datetime] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)
    metrics: list[Mapped] = field(default_factory=list)

    def followers_near(self, when: datetime) -> tuple[float, str] | None:
        """Followers at the last snapshot before `when` (else the first after), with the snapshot id."""
        i = bisect.bisect_right(self.times, when)
        for j in (*range(i - 1, -1, -1), *range(i, len(self.times))):
            value = self.metrics[j].values.get("followers")
            if value is not None and value > 0:
                return value, self.ids[j]
        return None

    def points(self, name: str) -> list[tuple[datetime, float, str]]:
        """(time, value, snapshot id) of one shared metric."""
        return [
            (t, m.values[name], i)
            for t, m, i in zip(self.times, self.metrics, self.ids, strict=True)
            if name in m.values
        ]


def _age_days(ocma: Ocma) -> ColumnElement[Any]:
    fetched, published = col(PostMetricSnapshot.fetched_at), col(Target.published_at)
    if ocma.engine.dialect.name == "sqlite":
        return func.julianday(fetched) - func.julianday(published)
    return func.extract("epoch", fetched - published) / 86400.0


def _snapshot_choice(ocma: Ocma, conditions: list[ColumnElement[bool]], basis: str) -> Any:
    """A subquery with the chosen snapshot id of each target."""
    order: list[Any]
    where = list(conditions)
    if basis == "matured":
        age = _age_days(ocma)
        horizon = HORIZON.total_seconds() / 86400
        where.append(age >= MATURE_AFTER.total_seconds() / 86400 - 1e-6)
        order = [
            case((age <= horizon, 0), else_=1),
            case((age <= horizon, col(PostMetricSnapshot.fetched_at)), else_=None).desc().nulls_last(),
            col(PostMetricSnapshot.fetched_at).asc(),
        ]
    else:
        order = [col(PostMetricSnapshot.fetched_at).desc()]
    ranked = (
        select(
            col(PostMetricSnapshot.id).label("sid"),
            func.row_number()
            .over(partition_by=col(PostMetricSnapshot.target_id), order_by=order)
            .label("rn"),
        )
        .join(Target, col(Target.id) == col(PostMetricSnapshot.target_id))
        .where(and_(*where))
        .subquery()
    )
    return select(ranked.c.sid).where(ranked.c.rn == 1).subquery()


def load_posts(
    ocma: Ocma,
    workspace_id: str,
    start: datetime | None,
    end: datetime | None,
    *,
    account_ids: Iterable[str] | None = None,
    post_ids: Iterable[str] | None = None,
    basis: str = "matured",
    with_text: bool = True,
) -> list[PostObs]:
    """Observations of targets published in [start, end) that have a snapshot (see module doc for `basis`)."""
    conditions: list[ColumnElement[bool]] = [
        col(Target.workspace_id) == workspace_id,
        col(Target.published_at).is_not(None),
    ]
    if start is not None:
        conditions.append(col(Target.published_at) >= start)
    if end is not None:
        conditions.append(col(Target.published_at) < end)
    if account_ids is not None:
        conditions.append(col(Target.account_id).in_(list(account_ids)))
    if post_ids is not None:
        conditions.append(col(Target.post_id).in_(list(post_ids)))
    chosen = _snapshot_choice(ocma, conditions, basis)
    columns: list[Any] = [
        col(PostMetricSnapshot.id),
        col(PostMetricSnapshot.fetched_at),
        col(PostMetricSnapshot.values),
        col(PostMetricSnapshot.unavailable),
        col(Target.id),
        col(Target.post_id),
        col(Target.account_id),
        col(Target.platform),
        col(Target.published_at),
    ]
    if with_text:
        columns += [
            col(Post.body),
            col(Post.media_ids),
            col(Post.thread),
            col(Post.options),
            col(Post.variants),
        ]
    stmt = (
        select(*columns)
        .join(chosen, chosen.c.sid == col(PostMetricSnapshot.id))
        .join(Target, col(Target.id) == col(PostMetricSnapshot.target_id))
    )
    if with_text:
        stmt = stmt.join(Post, col(Post.id) == col(Target.post_id))
    with ocma.session() as session:
        rows = session.execute(stmt).all()
        series = load_account_series(ocma, workspace_id, {r[6] for r in rows}, session=session)
        videos = _video_media_ids(session, workspace_id, rows) if with_text else set()
    vocab: dict[str, Any] = {}
    out: list[PostObs] = []
    for row in rows:
        platform = row[7]
        if platform not in vocab:
            vocab[platform] = vocabulary_of(platform)
        mapped = map_metrics(row[2] or {}, row[3] or [], platform_vocabulary=vocab[platform])
        total, used = mapped.interactions()
        obs = PostObs(
            target_id=row[4],
            post_id=row[5],
            account_id=row[6],
            platform=platform,
            published_at=row[8],
            snapshot_id=row[0],
            fetched_at=row[1],
            metrics=mapped,
            interactions=total,
            interactions_counted=used,
        )
        if with_text:
            variants = row[13] or {}
            obs.text = variants.get(obs.account_id) or variants.get(platform) or row[9] or ""
            media = list(row[10] or [])
            obs.media_count = len(media)
            obs.has_video = any(m in videos for m in media)
            obs.thread_parts = 1 + len(row[11] or [])
            obs.options = dict(row[12] or {})
        _set_exposure(obs, series.get(obs.account_id))
        out.append(obs)
    out.sort(key=lambda o: (o.published_at, o.target_id))
    return out


def _set_exposure(obs: PostObs, series: AccountSeries | None) -> None:
    if series is not None:
        found = series.followers_near(obs.published_at)
        if found is not None:
            obs.followers, obs.followers_source = found


def _video_media_ids(session: Any, workspace_id: str, rows: Sequence[Any]) -> set[str]:
    wanted = {m for r in rows for m in (r[10] or [])}
    if not wanted:
        return set()
    found = session.execute(
        select(col(Media.id)).where(
            col(Media.workspace_id) == workspace_id,
            col(Media.id).in_(wanted),
            col(Media.mime_type).like("video/%"),
        )
    ).all()
    return {r[0] for r in found}


def load_account_series(
    ocma: Ocma,
    workspace_id: str,
    account_ids: Iterable[str] | None = None,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    session: Any = None,
) -> dict[str, AccountSeries]:
    """Account metric snapshots by account (all of the workspace's accounts when `account_ids` is None)."""
    stmt = (
        select(
            col(AccountMetricSnapshot.id),
            col(AccountMetricSnapshot.account_id),
            col(AccountMetricSnapshot.platform),
            col(AccountMetricSnapshot.fetched_at),
            col(AccountMetricSnapshot.values),
            col(AccountMetricSnapshot.unavailable),
        )
        .join(Account, col(Account.id) == col(AccountMetricSnapshot.account_id))
        .where(col(Account.workspace_id) == workspace_id)
        .order_by(col(AccountMetricSnapshot.account_id), col(AccountMetricSnapshot.fetched_at))
    )
    if account_ids is not None:
        ids = list(account_ids)
        if not ids:
            return {}
        stmt = stmt.where(col(AccountMetricSnapshot.account_id).in_(ids))
    if start is not None:
        stmt = stmt.where(col(AccountMetricSnapshot.fetched_at) >= start)
    if end is not None:
        stmt = stmt.where(col(AccountMetricSnapshot.fetched_at) < end)
    if session is None:
        with ocma.session() as own:
            rows = own.execute(stmt).all()
    else:
        rows = session.execute(stmt).all()
    out: dict[str, AccountSeries] = {}
    vocab: dict[str, Any] = {}
    for sid, account_id, platform, fetched_at, values, unavailable in rows:
        if platform not in vocab:
            vocab[platform] = vocabulary_of(platform)
        s = out.setdefault(account_id, AccountSeries(account_id=account_id, platform=platform))
        s.times.append(fetched_at)
        s.ids.append(sid)
        s.metrics.append(
            map_metrics(values or {}, unavailable or [], kind="account", platform_vocabulary=vocab[platform])
        )
    return out


def accounts_of(ocma: Ocma, workspace_id: str) -> dict[str, Account]:
    """The workspace's accounts by id."""
    with ocma.session() as session:
        rows = (
            session.execute(select(Account).where(col(Account.workspace_id) == workspace_id)).scalars().all()
        )
        for row in rows:
            session.expunge(row)
    return {a.id: a for a in rows}
