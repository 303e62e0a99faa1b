"""The Slack notice for a login about to end (account.expiring)."""

from __future__ import annotations

from typing import Any

from ocma_slack.notify import message_for


def test_an_expiring_login_is_announced_with_how_to_renew_it() -> None:
    payload = {
        "platform": "facebook",
        "handle": "ocmabakery",
        "reason": "The facebook login of ocmabakery ends on 2026-12-10 12:00 UTC and cannot be refreshed; "
        "reconnect the account before then.",
    }
    ocma: Any = None  # the notice needs no database
    found = message_for(ocma, "account.expiring", payload)
    assert found is not None
    text, blocks = found
    assert "ends on 2026-12-10" in text and "/ocma connect facebook" in str(blocks)
