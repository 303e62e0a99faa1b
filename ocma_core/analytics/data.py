"""Reading stored snapshots into observations the analyzers share: one per published target, traceable.

Every observation names the snapshot it comes from (id and fetch time). Two ways to pick a target's snapshot:
- `latest`: its newest snapshot (reports: "as of the last collection");
- `matured`: the newest snapshot taken between 24 hours and 8 days after publishing, else the earliest one
  after that (a backfilled old post) — so posts are compared at a similar age (analyzers).
Both choices are kept up to date on the post's MetricSchedule row when snapshots are stored through
`ocma_core.services.metrics` (`ocma_core.analytics.pointers`), so loading N posts follows N pointers; posts
without pointers are chosen by scanning their snapshots.
Posts with no snapshot at least 24 hours old are left out of `matured` (their metrics are still growing).
"""

from __future__ import annotations

import bisect
import json
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Text, cast, select, text
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col

from ocma_core.analytics.gcpause import gc_paused
from ocma_core.analytics.post_queries import WANTED, PostStatements, post_statements
from ocma_core.analytics.vocabulary import (
    ACCOUNT_METRICS,
    INTERACTIONS,
    Mapped,
    all_plugin_vocabularies,
    map_metrics,
    sql_extract,
    vocabulary_of,
)
from ocma_core.context import Ocma
from ocma_core.db.models import Account, AccountMetricSnapshot, Media, Target, TargetStatus

HASHTAG = re.compile(r"(?<![\w&])#(\w{1,100})", re.UNICODE)
LINK = re.compile(r"https?://\S+", re.IGNORECASE)


@dataclass(slots=True)
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
    deleted: bool = False  # deleted from the platform since: these are the last metrics collected
    at_age_hours: float | None = None  # set when the counts were moved to one age (analytics.ages)
    age_basis: str = ""  # how: "interpolated" or the growth-curve band used
    impressions: float | None = field(init=False, default=None)  # impressions when reported (> 0)

    def __post_init__(self) -> None:
        value = self.metrics.values.get("impressions")
        self.impressions = value if value is not None and value > 0 else None

    @property
    def age_hours(self) -> float:
        """How long after publishing the counts are from (the snapshot's age, or the matched age)."""
        if self.at_age_hours is not None:
            return self.at_age_hours
        return (self.fetched_at - self.published_at).total_seconds() / 3600

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
        if self.at_age_hours is not None:
            out["at_age_hours"] = self.at_age_hours
            out["age_basis"] = self.age_basis
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
        times, values, ids = self.followers()
        if not times:
            return None
        i = bisect.bisect_right(times, when)
        j = i - 1 if i > 0 else 0
        return values[j], ids[j]

    def followers(self) -> tuple[list[datetime], list[float], list[str]]:
        """(times, follower counts, snapshot ids) of the snapshots that report followers, oldest first."""
        cached = self.__dict__.get("_followers_cache")
        if cached is None or cached[0] != len(self.times):
            kept = [
                (t, m.values["followers"], i)
                for t, m, i in zip(self.times, self.metrics, self.ids, strict=True)
                if m.values.get("followers", 0) > 0
            ]
            cached = (len(self.times), [k[0] for k in kept], [k[1] for k in kept], [k[2] for k in kept])
            self.__dict__["_followers_cache"] = cached
        return cached[1], cached[2], cached[3]

    def points(self, name: str) -> list[tuple[datetime, float, str]]:
        """(time, value, snapshot id) of one shared metric."""
        return [
            (t, m.values[name], i)
            for t, m, i in zip(self.times, self.metrics, self.ids, strict=True)
            if name in m.values
        ]


SeriesSource = dict[str, AccountSeries] | Callable[[], dict[str, AccountSeries]]


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
    series: SeriesSource | None = None,
    detail: bool = True,
    followers_when_needed: bool = False,
) -> list[PostObs]:
    """Observations of targets published in [start, end) that have a snapshot (see module doc for `basis`).

    `series` (account snapshots, for followers at publishing time) is loaded when not given; a callable is
    called only once the posts are read (so another thread can be loading the series meanwhile). With
    `followers_when_needed`, a callable is not called at all when every account's rate can use impressions
    (at least COVERAGE of its posts report them): the posts then carry no follower count. Without
    `detail`, the database reads only the interaction metrics and impressions out of each snapshot (the
    analyzers need no more), instead of every value and the list of what the platform does not provide.
    """
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
    statements = post_statements(
        ocma.engine.dialect.name, conditions, basis=basis, detail=detail, with_text=with_text
    )
    with gc_paused():
        out, by_account = _load_posts(ocma, workspace_id, statements, with_text, detail, series)
        if by_account is None:
            if followers_when_needed and not _rates_need_followers(out):
                return out
            by_account = series() if callable(series) else {}
        _attach_followers(out, by_account)
        return out


def _rates_need_followers(posts: list[PostObs]) -> bool:
    """Whether some account's rate cannot use impressions (too few of its posts report them)."""
    from ocma_core.analytics.measures import choose_kind  # measures builds on this module

    by_account: dict[str, list[PostObs]] = {}
    for p in posts:
        by_account.setdefault(p.account_id, []).append(p)
    return any(choose_kind(group) != "impressions" for group in by_account.values())


def _attach_followers(posts: list[PostObs], by_account: dict[str, AccountSeries]) -> None:
    """Followers at publishing time: the account snapshot before it (else the first after)."""
    for obs in posts:
        series = by_account.get(obs.account_id)
        near = series.followers_near(obs.published_at) if series is not None else None
        if near is not None:
            obs.followers, obs.followers_source = near


def _load_posts(
    ocma: Ocma,
    workspace_id: str,
    statements: PostStatements,
    with_text: bool,
    detail: bool,
    series: SeriesSource | None,
) -> tuple[list[PostObs], dict[str, AccountSeries] | None]:
    """The posts (without followers) and the account series when it is at hand (None: ask `series`)."""
    with ocma.session() as session:
        if ocma.engine.dialect.name == "postgresql":
            # Parallel workers would each rebuild the per-target aggregate (measured 3x the work).
            session.execute(text("SET LOCAL max_parallel_workers_per_gather = 0"))
        connection = session.connection()  # Core rows: no ORM overhead per row
        rows = connection.execute(statements.by_pointer).all()
        unpointed = [r[2] for r in rows if r[0] is None]
        if unpointed:
            rows = [r for r in rows if r[0] is not None]
            rows += connection.execute(statements.scan(unpointed)).all()
        by_account: dict[str, AccountSeries] | None = None
        if series is None:
            by_account = load_account_series(ocma, workspace_id, {r[4] for r in rows}, session=session)
        elif not callable(series):
            by_account = series
        m = statements.metric_columns
        media = {r[2]: json.loads(r[7 + m + 2]) for r in rows if with_text and r[7 + m + 2]}
        videos = _video_media_ids(session, workspace_id, media) if media else set()
    vocab: dict[str, Any] = {}
    out: list[PostObs] = []
    seen: set[str] = set()
    wanted = WANTED
    n_wanted = len(wanted)
    is_interaction = [name in INTERACTIONS for name in wanted]
    t = 7 + m
    for row in rows:
        target_id = row[2]
        if target_id in seen:  # two snapshots of one target fetched at the same instant: keep one
            continue
        seen.add(target_id)
        platform = row[5]
        if detail:
            if platform not in vocab:
                vocab[platform] = vocabulary_of(platform)
            unavailable = json.loads(row[8]) if row[8] and row[8] != "[]" else ()
            mapped = map_metrics(row[7] or {}, unavailable, platform_vocabulary=vocab[platform])
            total, used = mapped.interactions()
        else:
            found: dict[str, float] = {}
            total, counted = 0.0, []
            for name, counts, v in zip(wanted, is_interaction, row[7 : 7 + n_wanted], strict=True):
                if v is not None:
                    found[name] = v
                    if counts:
                        total += v
                        counted.append(name)
            mapped, used = Mapped(found, {}, ()), tuple(counted)
        obs = PostObs(target_id, row[3], row[4], platform, row[6], row[0], row[1], mapped, total, used)
        obs.deleted = row[-1] == TargetStatus.DELETED
        if with_text:
            variants = json.loads(row[t + 5]) if row[t + 5] and row[t + 5] != "{}" else {}
            obs.text = variants.get(obs.account_id) or variants.get(platform) or row[t] or ""
            if row[t + 1]:
                obs.media_count = int(row[t + 1])
                obs.has_video = any(v in videos for v in media.get(target_id, ()))
            if row[t + 3]:
                obs.thread_parts = 1 + int(row[t + 3])
            if row[t + 4] and row[t + 4] != "{}":
                obs.options = json.loads(row[t + 4])
        out.append(obs)
    out.sort(key=lambda o: (o.published_at, o.target_id))
    return out, by_account


def _video_media_ids(session: Any, workspace_id: str, media: dict[str, list[str]]) -> set[str]:
    wanted = {m for ids in media.values() for m in ids}
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
    """Account metric snapshots by account (all of the workspace's accounts when `account_ids` is None).

    The database reads the shared account metrics (followers, following, posts) out of each snapshot.
    """
    extra = all_plugin_vocabularies()
    values = col(AccountMetricSnapshot.values)
    stmt = (
        select(
            col(AccountMetricSnapshot.id),
            col(AccountMetricSnapshot.account_id),
            col(AccountMetricSnapshot.platform),
            col(AccountMetricSnapshot.fetched_at),
            cast(col(AccountMetricSnapshot.unavailable), Text),
            *(sql_extract(values, name, kind="account", extra=extra) for name in ACCOUNT_METRICS),
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
    with gc_paused():
        if session is None:
            with ocma.session() as own:
                rows = own.connection().execute(stmt).all()
        else:
            rows = session.connection().execute(stmt).all()
        return _series_from_rows(rows)


def _series_from_rows(rows: Sequence[Any]) -> dict[str, AccountSeries]:
    out: dict[str, AccountSeries] = {}
    declared_by_text: dict[str | None, tuple[str, ...]] = {}  # a platform repeats the same "unavailable" list
    names = ACCOUNT_METRICS
    for sid, account_id, platform, fetched_at, unavailable, *numbers in rows:
        s = out.get(account_id)
        if s is None:
            s = out[account_id] = AccountSeries(account_id=account_id, platform=platform)
        s.times.append(fetched_at)
        s.ids.append(sid)
        found = {names[i]: v for i, v in enumerate(numbers) if v is not None}
        declared = declared_by_text.get(unavailable)
        if declared is None:
            missing = json.loads(unavailable) if unavailable and unavailable != "[]" else ()
            declared = declared_by_text[unavailable] = map_metrics({}, missing, kind="account").not_provided
        if declared:
            declared = tuple(m for m in declared if m not in found)
        s.metrics.append(Mapped(found, {}, declared, "account"))
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
