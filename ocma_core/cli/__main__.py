"""`python -m ocma_core.cli` runs the CLI."""

from ocma_core.cli.main import main

main()
