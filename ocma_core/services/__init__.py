"""Services: the operations every surface (API, CLI, agent, Slack) calls."""
