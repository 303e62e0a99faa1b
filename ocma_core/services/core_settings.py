"""The core's workspace settings: approval, brand voice and queue slots (plugins register theirs)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from ocma_core.recurrence import WEEKDAYS, parse_time, parse_weekdays
from ocma_core.workspace_settings import WorkspaceSetting

BRAND_VOICE_MAX = 4000


class QueueSlots(BaseModel):
    """Weekly times posts with `next_slot` go out at, in the workspace's timezone."""

    model_config = ConfigDict(extra="forbid")

    weekdays: list[str] = Field(
        default_factory=list, description="mon..sun; empty or missing means every day.", max_length=7
    )
    times: list[str] = Field(description="Local times as HH:MM (24 h).", min_length=1, max_length=48)


def check_queue_slots(value: dict[str, Any]) -> dict[str, Any]:
    """Weekday names and HH:MM times, normalised (sorted, no duplicates)."""
    days = parse_weekdays(list(value.get("weekdays") or []))
    times = sorted({parse_time(t) for t in value["times"]})
    out: dict[str, Any] = {"times": [t.strftime("%H:%M") for t in times]}
    if days:
        out["weekdays"] = [WEEKDAYS[d] for d in days]
    return out


CORE_SETTINGS: tuple[WorkspaceSetting, ...] = (
    WorkspaceSetting(
        "approval_required",
        bool,
        "Hold every post for a person's approval before it is scheduled or published.",
        example=True,
        fix="true or false.",
    ),
    WorkspaceSetting(
        "brand_voice",
        Annotated[str, Field(max_length=BRAND_VOICE_MAX)],
        "How posts should sound; the agent and AI writing follow it.",
        example="Warm, plain words, no hype, one emoji at most.",
        fix=f"A text of at most {BRAND_VOICE_MAX} characters.",
    ),
    WorkspaceSetting(
        "queue_slots",
        QueueSlots,
        "Weekly slots for posts queued with next_slot (times in the workspace's timezone).",
        example={"weekdays": ["mon", "wed", "fri"], "times": ["09:00", "15:30"]},
        fix='An object like {"weekdays": ["mon", "wed"], "times": ["09:00"]} (weekdays mon..sun, HH:MM).',
        check=check_queue_slots,
    ),
)
