"""X platform plugin."""
