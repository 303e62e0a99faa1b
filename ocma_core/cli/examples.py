"""The examples convention: every command's help ends with runnable `ocma ...` lines.

Put `@examples(...)` above `@click.command()` (or `@group.command()`); each line is one command a person can
paste, optionally followed by `  # what it does`. tests/test_cli_conventions.py parses every example of every
command against the command itself, so an example with a renamed option fails the tests.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import click

HEADING = "Examples:"
C = TypeVar("C", bound=click.Command)


def examples(*lines: str) -> Callable[[C], C]:
    """Append an "Examples:" section (kept unwrapped) to a command's help."""
    if not lines or not all(line.startswith("ocma ") for line in lines):
        raise ValueError("examples() needs one or more lines, each starting with 'ocma '")

    def apply(command: C) -> C:
        if not isinstance(command, click.Command):
            raise TypeError("put @examples(...) above @click.command() / @group.command()")
        block = "\b\n" + HEADING + "\n" + "\n".join(f"  {line}" for line in lines)
        command.epilog = f"{command.epilog}\n\n{block}" if command.epilog else block
        return command

    return apply


def examples_in(help_text: str) -> list[str]:
    """The example command lines of a rendered help text (comments after `  #` removed)."""
    found: list[str] = []
    in_section = False
    for raw in help_text.splitlines():
        line = raw.strip()
        if line == HEADING:
            in_section = True
        elif in_section and line.startswith("ocma "):
            found.append(line.split("  #", 1)[0].rstrip())
        elif in_section and line:
            in_section = False
    return found
