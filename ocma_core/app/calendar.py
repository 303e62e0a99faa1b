"""The calendar: plan drafts, edit them, schedule, publish now or retry, list what is planned, read times.

Part of the public app API (`ocma_core.app`): names here keep their meaning within a minor release."""

from __future__ import annotations

from ocma_core.services.calendar import (
    calendar_entries,
    edit_post_content,
    plan_draft,
    publish_existing,
    retry_existing,
    schedule_existing,
)
from ocma_core.services.post_input import local_to_utc
from ocma_core.when import FORMS, parse_when

__all__ = [
    "FORMS",
    "calendar_entries",
    "edit_post_content",
    "local_to_utc",
    "parse_when",
    "plan_draft",
    "publish_existing",
    "retry_existing",
    "schedule_existing",
]
