"""Posts held while their account needed reconnecting, and a person's choice for each (services/held.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from ocma_core.api.auth import Caller, get_ocma, require
from ocma_core.api.openapi import errors
from ocma_core.api.schemas import Out, PostOut
from ocma_core.context import Ocma
from ocma_core.permissions import Action
from ocma_core.services import held, posts
from ocma_core.services.post_input import IsoDatetime

router = APIRouter(tags=["posts"])


class HeldTargetOut(Out):
    """One held target: where it goes, when it was due and why it waits."""

    target_id: str
    account_id: str
    handle: str
    account_status: str = Field(description="connected once the account is reconnected")
    platform: str
    due_at: datetime = Field(description="When it was meant to go out.")
    reason: str | None


class HeldPostOut(Out):
    """A post with held targets and the choices a person has."""

    post_id: str
    body: str = Field(description="The post's first 200 characters.")
    scheduled_at: datetime | None
    targets: list[HeldTargetOut]
    choices: list[str] = Field(description="publish_now, reschedule, cancel")


class HeldChoice(BaseModel):
    """What to do with a held post; `reschedule` needs `scheduled_at`."""

    model_config = ConfigDict(extra="forbid")

    choice: Literal["publish_now", "reschedule", "cancel"]
    scheduled_at: IsoDatetime | None = Field(default=None, description="With reschedule: the new time.")


@router.get("/v1/posts/held")
def list_held(
    caller: Caller = Depends(require(Action.POSTS_READ)), ocma: Ocma = Depends(get_ocma)
) -> list[HeldPostOut]:
    """Posts that fell due while their account needed reconnecting, oldest first, waiting for a choice."""
    return [HeldPostOut.model_validate(p) for p in held.held_posts(ocma, caller.workspace_id)]


@router.post("/v1/posts/{post_id}/held", responses=errors(404, 409))
def decide(
    post_id: str,
    body: HeldChoice,
    caller: Caller = Depends(require(Action.POSTS_SCHEDULE)),
    ocma: Ocma = Depends(get_ocma),
) -> PostOut:
    """Publish a held post now, reschedule it, or cancel it."""
    post = held.decide_held(ocma, caller.workspace_id, post_id, body.choice, body.scheduled_at)
    return PostOut.model_validate(posts.post_summary(post, posts.targets_of(ocma, post.id)))
