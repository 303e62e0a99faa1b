"""Loopback fakes of AI provider APIs (OpenAI, Anthropic, Stability, Runware) for tests; never imported at runtime."""
