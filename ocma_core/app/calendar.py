"""The calendar: plan drafts, edit them, schedule, publish now or retry, and list what is planned.

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

__all__ = [
    "calendar_entries",
    "edit_post_content",
    "plan_draft",
    "publish_existing",
    "retry_existing",
    "schedule_existing",
]
