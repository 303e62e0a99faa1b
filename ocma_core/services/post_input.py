"""The validated shape of a post as the API, the CLI, imports and the agent submit it."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationInfo, field_validator

_NUMBER = re.compile(r"^\s*[-+]?\d+(\.\d*)?\s*$")


def _iso_only(value: Any) -> Any:
    """pydantic reads a number as seconds since 1970; a client writing one almost surely meant something else."""
    if isinstance(value, int | float) or (isinstance(value, str) and _NUMBER.match(value)):
        raise ValueError("write the time in ISO 8601, e.g. 2030-01-31T09:00:00+01:00")
    return value


IsoDatetime = Annotated[datetime, BeforeValidator(_iso_only)]
"""A datetime given as ISO 8601 text (not a Unix timestamp)."""

# Caps on what one post may carry (issue 14: variants and options were unbounded).
MAX_ACCOUNTS = 100
MAX_VARIANTS = 50
MAX_OPTIONS_BYTES = 16_384
Name = Annotated[str, Field(min_length=1, max_length=64)]
Text = Annotated[str, Field(max_length=100_000)]


class PostInput(BaseModel):
    """A post to create or replace."""

    model_config = ConfigDict(extra="forbid")

    body: str = Field(default="", max_length=100_000, description="Main text, used where no variant applies.")
    account_ids: list[str] = Field(
        default_factory=list, max_length=MAX_ACCOUNTS, description="Accounts to publish to (one target each)."
    )
    media_ids: list[str] = Field(default_factory=list, max_length=20)
    variants: dict[Name, Text] = Field(
        default_factory=dict,
        max_length=MAX_VARIANTS,
        description="Text per platform name or account id, overriding the body.",
    )
    thread: list[Text] = Field(
        default_factory=list, max_length=25, description="Follow-up parts of a thread."
    )
    options: dict[Name, dict[str, Any]] = Field(
        default_factory=dict,
        max_length=MAX_VARIANTS,
        description="Platform options per platform name (poll, visibility, ...), at most 16 KB as JSON.",
    )
    scheduled_at: IsoDatetime | None = Field(
        default=None,
        description="When to publish (for a draft: its planned time, shown on the calendar, nothing queued); "
        "a time without offset is read in `timezone`.",
    )
    timezone: str | None = Field(
        default=None, description="IANA timezone of the author; default: workspace's."
    )
    recurrence: dict[str, Any] | None = Field(
        default=None, description='e.g. {"weekdays": ["mon"], "times": ["09:00"]} or {"every_days": 2}.'
    )
    action: Literal["draft", "schedule", "publish_now", "next_slot", "best_time"] = Field(
        default="draft",
        description="draft; schedule (at scheduled_at); publish_now; next_slot (queue slots); "
        "best_time (the next slot measured best on the accounts' own posts; when no account shows a "
        "measurable timing effect, the queue's next free slot, as next_slot).",
    )

    @field_validator("options")
    @classmethod
    def _options_size(cls, value: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        size = len(json.dumps(value, default=str))
        if size > MAX_OPTIONS_BYTES:
            raise ValueError(f"options take {size} bytes as JSON; at most {MAX_OPTIONS_BYTES}")
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        if value is not None:
            from ocma_core.services.workspaces import check_timezone

            check_timezone(value)
        return value

    @field_validator("account_ids")
    @classmethod
    def _distinct(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("account_ids lists an account twice")
        return value

    @field_validator("action")
    @classmethod
    def _action_needs(cls, value: str, info: ValidationInfo) -> str:
        # Checked on `action` (declared last), so the error names the field a client must change.
        if value == "schedule" and info.data.get("scheduled_at") is None and "scheduled_at" in info.data:
            raise ValueError("action 'schedule' needs scheduled_at")
        if value != "draft" and not info.data.get("account_ids") and "account_ids" in info.data:
            raise ValueError("choose at least one account in account_ids")
        return value

    def scheduled_utc(self, default_zone: str) -> datetime | None:
        """scheduled_at in UTC, reading a naive time in the author's zone (a time the clocks skip is refused)."""
        if self.scheduled_at is None:
            return None
        when = self.scheduled_at
        if when.tzinfo is None:
            when = local_to_utc(when, self.timezone or default_zone)
        return when.astimezone(UTC)


def local_to_utc(local: datetime, zone_name: str, *, ambiguous: str = "refuse") -> datetime:
    """A wall-clock time in `zone_name` as UTC; one in a DST gap is refused with both choices.

    A time the clocks pass twice (autumn's repeated hour) is refused the same way, with both instants, unless
    `ambiguous="earlier"` (a listing window's edge, where the earlier reading is the inclusive one).
    """
    zone = ZoneInfo(zone_name)
    aware = local.replace(tzinfo=zone)
    first, second = aware.replace(fold=0), aware.replace(fold=1)
    exists = aware.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == local
    if exists and (first.utcoffset() == second.utcoffset() or ambiguous == "earlier"):
        return first.astimezone(UTC)
    from ocma_core.errors import ValidationFailed

    # In a gap, fold=0 reads the time with the offset before the jump and fold=1 with the one after; in a
    # repeated hour they are its two passes. Either way: the two instants a person may have meant, shown locally.
    # (compared in UTC: within one zone, Python compares wall clocks and ignores fold)
    choices = [i.astimezone(zone) for i in sorted({first.astimezone(UTC), second.astimezone(UTC)})]
    stamp = local.isoformat(timespec="minutes")
    if exists:
        message, problem = f"happens twice in {zone_name}: the clocks go back over it", "happens twice"
    else:
        message, problem = (
            f"does not exist in {zone_name}: the clocks skip it",
            "falls in the hour the clocks skip",
        )
    raise ValidationFailed(
        f"scheduled_at {stamp} {message} (daylight saving time).",
        problems=[{"field": "scheduled_at", "message": problem}],
        fix=f"Choose {choices[0].isoformat(timespec='minutes')} or {choices[-1].isoformat(timespec='minutes')}.",
    )
