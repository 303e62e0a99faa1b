"""The publishing engine: claims due targets, publishes exactly once, retries safely."""
