"""Analytics: answers from stored metrics, reports, charts and each platform"s metric names.

Part of the public app API (`ocma_core.app`): names here keep their meaning within a minor release."""

from __future__ import annotations

from ocma_core.analytics.ages import interactions_at
from ocma_core.analytics.answers import baseline_metrics, next_best_time, performance_summary
from ocma_core.analytics.base import make_context
from ocma_core.analytics.charts import render
from ocma_core.analytics.reports import build_report, render_text, resolve_period
from ocma_core.analytics.vocabulary import map_metrics, vocabulary_of

__all__ = [
    "baseline_metrics",
    "build_report",
    "interactions_at",
    "make_context",
    "map_metrics",
    "next_best_time",
    "performance_summary",
    "render",
    "render_text",
    "resolve_period",
    "vocabulary_of",
]
