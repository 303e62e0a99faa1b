"""Automations: when an event happens (a sale, a new subscription...), the agent drafts a post for approval.

`rules` (the `automations` workspace setting), `manage` (add, list, remove), `compose` (the prompt: aggregate
facts only), `runner` (the background round), `cli` (`ocma automations`) and `api` (`/v1/automations`)."""
