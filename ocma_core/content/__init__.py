"""Content intelligence: generate, adapt, optimise and score posts, validated by the platform plugins.

Entry points (async): `ocma_core.content.generate.generate`, `ocma_core.content.adapt.adapt`,
`ocma_core.content.optimize.optimize`, `ocma_core.content.score.score`. Prompt templates live in
`ocma_core/content/prompts/` and can be overridden per workspace (see `ocma_core.content.prompts`).
"""
