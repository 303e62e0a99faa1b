"""Automation rules: "when an event of kind K happens, draft a post from this instruction for these accounts",
kept in the workspace setting `automations` (a list, set by admins through `ocma automations`, the
`/v1/automations` routes, `ocma workspaces set --automations` or `PATCH /v1/workspaces/current`)."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from ocma_core import WorkspaceSetting
from ocma_core.errors import ValidationFailed

SETTING = "automations"
PERIOD_S = 5.0  # how often the worker runs the automations round
MAX_RULES = 50
DEFAULT_COOLDOWN_S = 3600
MAX_COOLDOWN_S = 7 * 24 * 3600
RULE_ID = r"^[a-z0-9][a-z0-9_-]{0,39}$"
KIND = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")
# A rule never reacts to what automations or approvals themselves emit: a draft must not beget drafts.
OWN_KINDS = ("automation.", "post.approval_requested")


class Rule(BaseModel):
    """When an event of kind `on` happens, the agent drafts one post from `instruction` for `accounts`; at
    most one draft per `cooldown_s` (events in between are summarised in the next draft). The draft always
    waits for a person's approval."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=RULE_ID, description="Your name for the rule (a-z, 0-9, - and _).")
    on: str = Field(min_length=3, max_length=64, description="Event kind, e.g. stripe.subscription_created.")
    instruction: str = Field(
        min_length=1, max_length=1000, description="What the post should say, e.g. 'thank new subscribers'."
    )
    accounts: list[str] = Field(min_length=1, max_length=20, description="Account ids the draft is for.")
    where: dict[str, str | int | bool] = Field(
        default_factory=dict,
        max_length=5,
        description='Only events whose payload has these values, e.g. {"livemode": true} (none reach the model).',
    )
    cooldown_s: int = Field(
        DEFAULT_COOLDOWN_S, ge=0, le=MAX_COOLDOWN_S, description="At most one draft per this many seconds."
    )
    enabled: bool = True

    def matches(self, payload: dict[str, Any]) -> bool:
        """Whether an event's payload has every value of `where` (a bool only equals a bool)."""
        return all(
            key in payload and type(payload[key]) is type(value) and payload[key] == value
            for key, value in self.where.items()
        )


RULES: TypeAdapter[list[Rule]] = TypeAdapter(list[Rule])


def known_kinds() -> dict[str, Any]:
    """Every event kind this process knows (the core's and the loaded plugins')."""
    from ocma_core.app.events import registered_kinds

    return registered_kinds()


def check_rules(stored: Any) -> Any:
    """Unique ids, a known event kind each, not an automation's own kind; the stored list unchanged."""
    rules = RULES.validate_python(stored)
    if len(rules) > MAX_RULES:
        raise ValidationFailed(f"At most {MAX_RULES} automations per workspace.", fix="Remove one first.")
    seen: set[str] = set()
    kinds = known_kinds()
    for rule in rules:
        if rule.id in seen:
            raise ValidationFailed(f"Two automations are called {rule.id!r}.", fix="Give each its own id.")
        seen.add(rule.id)
        if rule.on.startswith(OWN_KINDS):
            raise ValidationFailed(
                f"An automation cannot react to {rule.on}: its own drafts would trigger it.",
                fix="Pick an event from outside, e.g. stripe.subscription_created.",
            )
        if not KIND.match(rule.on) or rule.on not in kinds:
            payments = sorted(k for k in kinds if not k.startswith(("post.", "automation.")))
            raise ValidationFailed(
                f"{rule.on!r} is not an event kind OCMA knows.",
                fix=f"Use one of: {', '.join(payments)} (docs/events.md lists them; "
                "stripe.* needs the ocma-stripe plugin).",
            )
    return stored


SETTING_DEF = WorkspaceSetting(
    SETTING,
    list[Rule],
    "Automations: when an event happens, the agent drafts a post for approval (docs/automations.md).",
    example=[
        {
            "id": "thank-subscribers",
            "on": "stripe.subscription_created",
            "instruction": "Thank our new subscribers for joining; no names, no prices.",
            "accounts": ["ACCOUNT_ID"],
            "where": {"livemode": True},
            "cooldown_s": 3600,
        }
    ],
    fix='A list like [{"id": "thanks", "on": "stripe.subscription_created", "instruction": "...", '
    '"accounts": ["ACCOUNT_ID"], "cooldown_s": 3600}] (cooldown_s 0 to 604800).',
    check=check_rules,
)


def rules_of(settings: dict[str, Any] | None) -> list[Rule]:
    """The rules stored in a workspace's settings (a rule stored before a check existed is skipped, not fatal)."""
    raw = (settings or {}).get(SETTING) or []
    found = []
    for item in raw if isinstance(raw, list) else []:
        try:
            found.append(Rule.model_validate(item))
        except ValueError:
            continue
    return found
