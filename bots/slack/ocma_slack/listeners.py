"""Wire every listener into the runtime's Bolt app."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ocma_slack.runtime import SlackRuntime


def register(runtime: SlackRuntime) -> None:
    """Register conversation, card actions (approval, held posts), join requests, deleting published posts, /ocma,
    App Home and the notification feed's mark-read button."""
    from ocma_slack import actions, commands, conversation, deleting, held_card, home, inbox, joining

    conversation.register(runtime)
    actions.register(runtime)
    held_card.register(runtime)
    joining.register(runtime)
    deleting.register(runtime)
    commands.register(runtime)
    home.register(runtime)
    inbox.register(runtime)
