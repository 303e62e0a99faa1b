"""The `ocma` command line."""
