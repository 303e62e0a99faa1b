"""The analyzer contract, and the shared data every analyzer of one run reads.

An analyzer is any object with a `name` (unique), a `title` and `run(ctx) -> dict`; register it through the
`register_analyzers` hook:

    @hookimpl
    def register_analyzers(register):
        register(MyAnalyzer())

`run` gets an `AnalysisContext` with the workspace's stored observations — nothing else is needed to
analyse, and nothing else may be shown: every number must come from those snapshots (cite
`PostObs.trace()`), and an estimate must say how it was made. Set `in_report = False` for analyzers that
need extra input (like a draft to predict) and should not run in periodic reports.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from ocma_core.analytics.data import AccountSeries, PostObs, accounts_of, load_account_series, load_posts
from ocma_core.analytics.gcpause import gc_paused
from ocma_core.analytics.lazy import once_property
from ocma_core.analytics.periods import Period
from ocma_core.context import Ocma
from ocma_core.db.models import Account

if TYPE_CHECKING:
    from ocma_core.analytics.ages import Matched

HISTORY = timedelta(days=182)  # how far back the models learn from (audiences change)
SERIES_MARGIN = timedelta(days=31)  # account snapshots before the window, for followers at its first posts


@runtime_checkable
class Analyzer(Protocol):
    """What the `register_analyzers` hook accepts."""

    name: str
    title: str

    def run(self, ctx: AnalysisContext) -> dict[str, Any]:
        """Analyse and return a JSON-ready result (with a `summary` sentence when there is something to say)."""


@dataclass
class AnalysisContext:
    """Stored data of one workspace for one period, loaded once and shared by the analyzers of a run."""

    ocma: Ocma
    workspace_id: str
    timezone: str
    period: Period
    account_ids: list[str] | None = None
    params: dict[str, Any] = field(default_factory=dict)
    history_text: bool = True  # False: `history` without texts and media (enough for best times)

    @once_property
    def accounts(self) -> dict[str, Account]:
        """The workspace's accounts (restricted to `account_ids` when given)."""
        found = accounts_of(self.ocma, self.workspace_id)
        if self.account_ids is not None:
            found = {k: v for k, v in found.items() if k in self.account_ids}
        return found

    @property
    def platforms(self) -> dict[str, str]:
        """Platform of each account."""
        return {a.id: a.platform for a in self.accounts.values()}

    @once_property
    def history(self) -> list[PostObs]:
        """Matured observations of posts published in the history window up to the period's end."""
        return load_posts(
            self.ocma,
            self.workspace_id,
            self.period.end - HISTORY,
            self.period.end,
            account_ids=list(self.accounts),
            basis="matured",
            series=lambda: self.series,
            detail=False,
            with_text=self.history_text,
            followers_when_needed=not self.history_text,  # best times: only rates use followers
        )

    @once_property
    def history_at_age(self) -> Matched:
        """`history` read at one age after publishing (ocma_core.analytics.ages): what trends compare."""
        from ocma_core.analytics.ages import at_reference_age, load_at_reference

        return at_reference_age(
            self.history, load_at_reference(self.ocma, [p.target_id for p in self.history])
        )

    @once_property
    def in_period_at_age(self) -> Matched:
        """`in_period` read at the same age as `history_at_age` (with its growth curve): what rankings compare."""
        from ocma_core.analytics.ages import at_reference_age, load_at_reference

        series = load_at_reference(self.ocma, [p.target_id for p in self.in_period], curve_sample=0)
        return at_reference_age(self.in_period, series, curve=self.history_at_age.curve)

    @once_property
    def in_period(self) -> list[PostObs]:
        """Latest observations of posts published in the period."""
        return load_posts(
            self.ocma,
            self.workspace_id,
            self.period.start,
            self.period.end,
            account_ids=list(self.accounts),
            basis="latest",
            series=lambda: self.series,
        )

    @once_property
    def series(self) -> dict[str, AccountSeries]:
        """Account metric snapshots of every account, from the history window (with a month's margin) on."""
        since = min(self.period.end - HISTORY, self.period.start - (self.period.end - self.period.start))
        return load_account_series(
            self.ocma, self.workspace_id, list(self.accounts), start=since - SERIES_MARGIN
        )

    def prefetch(self, *names: str) -> None:
        """Load the named data ("series", "history", "in_period") at once, each on its own connection.

        One load's database wait overlaps another's Python work; the results are the same as loading them
        one after another.
        """
        from concurrent.futures import ThreadPoolExecutor

        _ = self.accounts
        wanted = [n for n in names if n not in self.__dict__]
        if len(wanted) < 2:
            for name in wanted:
                getattr(self, name)
            return
        with gc_paused(), ThreadPoolExecutor(len(wanted), thread_name_prefix="ocma-analytics") as pool:
            for future in [pool.submit(getattr, self, name) for name in wanted]:
                future.result()

    def by_account(self, posts: list[PostObs]) -> dict[str, list[PostObs]]:
        """Posts grouped by account (every account present, possibly empty); computed once per list."""
        cache: dict[int, tuple[list[PostObs], dict[str, list[PostObs]]]] = self.__dict__.setdefault(
            "_groups", {}
        )
        hit = cache.get(id(posts))
        if hit is not None and hit[0] is posts:
            return hit[1]
        out: dict[str, list[PostObs]] = {account_id: [] for account_id in self.accounts}
        for p in posts:
            if p.account_id in out:
                out[p.account_id].append(p)
        cache[id(posts)] = (posts, out)
        return out

    def label(self, account_id: str) -> str:
        """'handle (platform)'."""
        a = self.accounts.get(account_id)
        return f"{a.handle} ({a.platform})" if a else account_id


def make_context(
    ocma: Ocma,
    workspace_id: str,
    period: Period,
    *,
    account_ids: list[str] | None = None,
    params: dict[str, Any] | None = None,
    history_text: bool = True,
) -> AnalysisContext:
    """A context for `period` in the workspace's timezone."""
    return AnalysisContext(
        ocma, workspace_id, period.timezone, period, account_ids, dict(params or {}), history_text
    )


def now_period(timezone: str, days: int = 7, end: datetime | None = None) -> Period:
    """The last `days` days up to now, for analyses that are not about a report period."""
    from ocma_core.db.types import utcnow

    stop = end or utcnow()
    return Period(stop - timedelta(days=days), stop, f"last {days} days", "days", timezone)
