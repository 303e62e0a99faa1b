"""ETags and If-Match (`ocma_core.etags`): one hashing and one check for the workspace and the agent's rules."""

from __future__ import annotations

import pytest

from ocma_core import if_match_matches, json_etag
from ocma_core.db.models import Workspace
from ocma_core.services.workspaces import workspace_etag

CURRENT = '"34fb08c531051772aa9f90cebefd9695"'
STATE = {
    "name": "Acme",
    "timezone": "Europe/Berlin",
    "settings": {"daily_cap": 3, "automations": [{"id": "thanks"}]},
}
RULE = {
    "id": "thanks",
    "on": "stripe.subscription_created",
    "instruction": "thank new subscribers",
    "accounts": ["acc1"],
    "where": {},
    "cooldown_s": 3600,
    "enabled": True,
}


def test_the_etags_are_the_ones_issued_before_the_helper() -> None:
    """Pinned: a changed hashing would make every ETag a client holds stale."""
    assert json_etag(STATE) == CURRENT
    workspace = Workspace(name="Acme", timezone="Europe/Berlin", settings=STATE["settings"])
    assert workspace_etag(workspace) == CURRENT
    assert json_etag(RULE) == '"0e50d46761ad4169590fca7df050d56a"'  # the agent's automation rule `thanks`
    assert json_etag(dict(reversed(RULE.items()))) == json_etag(RULE)


@pytest.mark.parametrize(
    ("if_match", "matches"),
    [
        (CURRENT, True),
        (f"W/{CURRENT}", True),
        (f'W/"elsewhere",  {CURRENT} , "other"', True),
        ("*", True),
        ('"0e50d46761ad4169590fca7df050d56a"', False),
        ('W/"elsewhere", "other"', False),
    ],
    ids=["exact", "weak", "list-with-spaces", "wildcard", "stale", "stale-list"],
)
def test_if_match_names_the_current_version(if_match: str, matches: bool) -> None:
    assert if_match_matches(CURRENT, if_match) is matches
